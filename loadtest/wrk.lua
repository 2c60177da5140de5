-- wrk script for the cross-check in RESULTS.md: the same spread as the Go
-- generator (campaigns 1-50, quarters 1-4, 20% ad tag), with a cookie, but
-- no per-visitor cookie tracking and no answer checks (wrk only counts).
--   wrk -t2 -c32 -d10s -s loadtest/wrk.lua http://127.0.0.1:18080
math.randomseed(os.time())

request = function()
  local c = math.random(1, 50)
  local q = math.random(1, 4)
  local path
  if math.random() < 0.2 then
    path = "/campaigns/" .. c .. "?quarter=" .. q
  else
    path = "/api/campaigns/" .. c .. "/banners?quarter=" .. q
  end
  return wrk.format("GET", path, { ["Cookie"] = "banner_last=" .. math.random(1, 500) })
end
