package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"banners/internal/dynamo"
)

// data is the storage side of the stack: the table the API reads, and the
// bucket and function that fill it.
type data struct {
	table  awsdynamodb.Table
	bucket awss3.Bucket
	ingest awslambda.Function
	dlq    awssqs.Queue
	// ingestLogs is the ingest function's log group, which feeds the metrics.
	ingestLogs awslogs.LogGroup
}

// newData defines the table, the data bucket (logging to logs) and the
// ingest function that loads every uploaded .csv into the table.
func newData(stack awscdk.Stack, props *BannersStackProps, logs awss3.IBucket) data {
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(dynamo.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(dynamo.SortKey), Type: awsdynamodb.AttributeType_STRING},
		// Reads are rare (the API caches) and loads are bursty: pay per request.
		BillingMode: awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// The table is the service's state: keep it when the stack goes away.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	bucket := newBucket(stack, "DataBucket", &awss3.BucketProps{
		// Who uploaded or read which file: S3 server access logs are free
		// apart from their storage, unlike CloudTrail data events.
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(dataBucketLogPrefix),
	})

	// Failed asynchronous invocations land here with the error, not dropped.
	dlq := awssqs.NewQueue(stack, jsii.String("IngestFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), // the SQS maximum: time to notice and replay
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is the ingest function's failure destination; a queue behind it would hold failures of failures"),
	}}, nil)

	ingest, ingestLogs := newFunction(stack, "IngestFunction", props.IngestDir, "Banners ingest function", &awslambda.FunctionProps{
		Description: jsii.String("Loads <quarter>/<kind>_<quarter>.csv uploads into the table"),
		// Memory holds one quarter's read models (Settings.IngestMemoryMB).
		// Time goes into BatchWriteItem round trips and waiting out
		// throttling: a new on-demand table takes about 4,000 writes a second,
		// so a million campaigns take 250–500 s; Lambda's longest timeout
		// leaves a margin of 1.8×, and the load's lease ends with it.
		MemorySize: jsii.Number(float64(props.IngestMemoryMB)),
		Timeout:    awscdk.Duration_Minutes(jsii.Number(15)),
		Environment: &map[string]*string{
			"TABLE_NAME": table.TableName(),
		},
		// A retry re-reads the whole file; BatchWriteItem puts overwrite by key,
		// so that is safe. Two retries ride out throttling and transient errors.
		RetryAttempts: jsii.Number(2),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
		// Off by default (see DefaultSettings). Loads stay safe without it: a
		// lease on the quarter's manifest turns a concurrent load of the same
		// quarter into a retried conflict. 1 serializes loads.
		ReservedConcurrentExecutions: reservedConcurrency(props.IngestReservedConcurrency),
	})

	// Least privilege: the calls a load makes (GetItem and PutItem on the
	// quarter's manifest, BatchWriteItem for the read models), the uploads.
	table.Grant(ingest, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:BatchWriteItem"))
	ingest.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
	}))
	// The function never lists, but takes a missing file of the quarter as
	// empty (NoSuchKey, internal/ingest/s3.go); without s3:ListBucket, S3
	// answers AccessDenied instead and the first upload's load would fail.
	ingest.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:ListBucket"),
		Resources: jsii.Strings(*bucket.BucketArn()),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(ingest.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("s3:GetObject on the data bucket's objects: the keys are whatever operators upload"),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<DataBucket[0-9A-F]+\.Arn>\/\*$/`)}},
	}}, jsii.Bool(true))
	bucket.AddEventNotification(awss3.EventType_OBJECT_CREATED,
		awss3notifications.NewLambdaDestination(ingest),
		&awss3.NotificationKeyFilter{Suffix: jsii.String(".csv")})

	return data{table: table, bucket: bucket, ingest: ingest, dlq: dlq, ingestLogs: ingestLogs}
}
