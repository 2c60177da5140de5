// Package site holds the visitor page of Banners: a static index.html,
// app.js and style.css that show the banners of one campaign.
//
// The same files are served by the local server at "/" and by CloudFront
// from S3, so they use only relative URLs and need no build step.
package site

import "embed"

// FS holds index.html, app.js and style.css at its root, ready for
// http.FileServerFS.
//
//go:embed index.html app.js style.css
var FS embed.FS
