//! Creates whatever table, index, bucket and queue is missing, from the same
//! definitions the adapters use (`reel provision`, `reel serve --backend aws
//! --provision`, and the tests on moto). In a real account the SAM template does this.

use super::blobs::PENDING_TAG;
use super::bucket;
use super::schema::{Index, Key, Projection, Table, ALL};
use super::AwsClients;
use anyhow::Context;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection as DynamoProjection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag,
};
use aws_sdk_sqs::types::QueueAttributeName;
use reel_core::domain::MULTIPART_LIFETIME_SECS;
use reel_core::settings::Settings;
use std::collections::BTreeMap;

pub async fn provision(clients: &AwsClients, config: &Settings) -> anyhow::Result<()> {
    let settings = &config.aws;
    for table in &ALL {
        ensure_table(&clients.dynamo, &settings.table(table.name), table).await?;
    }
    let origin = site_origin(config);
    ensure_bucket(&clients.s3, &settings.bucket, &origin, clients.s3_over_tls).await?;
    ensure_queues(&clients.sqs, config).await?;
    Ok(())
}

/// The site's origin as browsers see it: `REEL_PUBLIC_URL`'s, else the local server's
/// own address (a deployment's bucket is configured by `template.yaml` instead).
pub fn site_origin(config: &Settings) -> String {
    match &config.api.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", config.server.addr),
    }
}

fn key_element(key: &Key, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder()
        .attribute_name(key.name)
        .key_type(kind)
        .build()?)
}

fn key_schema(hash: &Key, range: Option<&Key>) -> anyhow::Result<Vec<KeySchemaElement>> {
    let mut schema = vec![key_element(hash, KeyType::Hash)?];
    if let Some(range) = range {
        schema.push(key_element(range, KeyType::Range)?);
    }
    Ok(schema)
}

/// Every key attribute of the table and its indexes, once each.
fn attribute_definitions(table: &Table) -> anyhow::Result<Vec<AttributeDefinition>> {
    let mut keys = BTreeMap::new();
    let index_keys = table
        .indexes
        .iter()
        .flat_map(|i| std::iter::once(&i.hash).chain(i.range.as_ref()));
    for key in std::iter::once(&table.hash)
        .chain(table.range.as_ref())
        .chain(index_keys)
    {
        keys.insert(key.name, key.kind);
    }
    keys.into_iter()
        .map(|(name, kind)| {
            Ok(AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?)
        })
        .collect()
}

fn index(index: &Index) -> anyhow::Result<GlobalSecondaryIndex> {
    let projection = match index.projection {
        Projection::All => ProjectionType::All,
        Projection::KeysOnly => ProjectionType::KeysOnly,
    };
    Ok(GlobalSecondaryIndex::builder()
        .index_name(index.name)
        .set_key_schema(Some(key_schema(&index.hash, index.range.as_ref())?))
        .projection(
            DynamoProjection::builder()
                .projection_type(projection)
                .build(),
        )
        .build()?)
}

/// Adds the indexes a later version of the schema has (a table made by an earlier one),
/// one `UpdateTable` each as DynamoDB requires; DynamoDB backfills them in the
/// background, and what reads them fails (and is retried) until they are active.
async fn add_missing_indexes(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &Table,
    present: &[String],
) -> anyhow::Result<()> {
    for missing in table
        .indexes
        .iter()
        .filter(|i| !present.iter().any(|p| p == i.name))
    {
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(missing.name)
            .set_key_schema(Some(key_schema(&missing.hash, missing.range.as_ref())?))
            .projection(
                index(missing)?
                    .projection
                    .context("an index's projection")?,
            )
            .build()?;
        client
            .update_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions(table)?))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .with_context(|| format!("adding index {} to table {name}", missing.name))?;
        tracing::info!(table = name, index = missing.name, "index added");
    }
    Ok(())
}

async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &Table,
) -> anyhow::Result<()> {
    let exists = client.describe_table().table_name(name).send().await;
    match exists {
        Ok(described) => {
            let present: Vec<String> = described
                .table
                .and_then(|t| t.global_secondary_indexes)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.index_name)
                .collect();
            return add_missing_indexes(client, name, table, &present).await;
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(e) => return Err(e).with_context(|| format!("describing table {name}")),
    }
    let indexes = table
        .indexes
        .iter()
        .map(index)
        .collect::<anyhow::Result<Vec<_>>>()?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&table.hash, table.range.as_ref())?))
        .set_attribute_definitions(Some(attribute_definitions(table)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await
        .with_context(|| format!("creating table {name}"))?;
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(std::time::Duration::from_secs(120))
        .await
        .with_context(|| format!("waiting for table {name}"))?;
    if let Some(attribute) = table.ttl {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("enabling TTL on {name}"))?;
    }
    tracing::info!(table = name, "table created");
    Ok(())
}

/// The bucket, configured as `template.yaml` configures it ([`super::bucket`]): no public
/// access, owner-enforced objects, encrypted at rest, TLS only, CORS for the site's own
/// origin, and the lifecycle rules. Applied on every provisioning, so an existing bucket
/// is brought in line too. The TLS-only policy needs S3 reached over TLS: an emulator
/// on plain HTTP (which enforces bucket policies, as moto does) would refuse every
/// request, so there it is left out, and said so.
async fn ensure_bucket(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    origin: &str,
    over_tls: bool,
) -> anyhow::Result<()> {
    if client.head_bucket().bucket(bucket).send().await.is_err() {
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .with_context(|| format!("creating bucket {bucket}"))?;
        tracing::info!(bucket, "bucket created");
    }
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("blocking public access to {bucket}"))?;
    client
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("setting object ownership on {bucket}"))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()?,
                        )
                        .build(),
                )
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("setting encryption on {bucket}"))?;
    if over_tls {
        client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(bucket::tls_only_policy(bucket))
            .send()
            .await
            .with_context(|| format!("setting the TLS-only policy of {bucket}"))?;
    } else {
        tracing::warn!(
            bucket,
            "S3 is reached without TLS (an emulator): the bucket gets no TLS-only policy"
        );
    }
    client
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(cors_rule(origin)?)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("setting CORS on {bucket}"))?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(lifecycle()?)
        .send()
        .await
        .with_context(|| format!("setting the lifecycle rules of {bucket}"))?;
    Ok(())
}

/// Pages of `origin` (and no other) may PUT uploads and GET streams.
fn cors_rule(origin: &str) -> anyhow::Result<CorsRule> {
    let mut rule = CorsRule::builder()
        .allowed_origins(origin)
        .max_age_seconds(bucket::CORS_MAX_AGE_SECS);
    for method in bucket::CORS_METHODS {
        rule = rule.allowed_methods(method);
    }
    for header in bucket::CORS_ALLOWED_HEADERS {
        rule = rule.allowed_headers(header);
    }
    for header in bucket::CORS_EXPOSED_HEADERS {
        rule = rule.expose_headers(header);
    }
    Ok(rule.build()?)
}

/// A multipart upload lasts [`MULTIPART_LIFETIME_SECS`] (two days): S3 discards one
/// nobody completed or aborted once that is over (`template.yaml` says the same).
const ABORT_INCOMPLETE_UPLOAD_DAYS: i32 = (MULTIPART_LIFETIME_SECS / 86_400) as i32;

fn lifecycle() -> anyhow::Result<BucketLifecycleConfiguration> {
    let abort = LifecycleRule::builder()
        .id(bucket::ABORT_INCOMPLETE_UPLOADS)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_INCOMPLETE_UPLOAD_DAYS)
                .build(),
        )
        .build()?;
    let (key, value) = PENDING_TAG;
    let expire = LifecycleRule::builder()
        .id(bucket::EXPIRE_UNCONFIRMED_UPLOADS)
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .tag(Tag::builder().key(key).value(value).build()?)
                .build(),
        )
        .expiration(
            LifecycleExpiration::builder()
                .days(bucket::UNCONFIRMED_UPLOAD_DAYS)
                .build(),
        )
        .build()?;
    Ok(BucketLifecycleConfiguration::builder()
        .rules(abort)
        .rules(expire)
        .build()?)
}

/// The dead-letter queue, then the deletion queue redriving to it after
/// `queue_max_receives` receives. CreateQueue is idempotent for equal attributes.
async fn ensure_queues(client: &aws_sdk_sqs::Client, config: &Settings) -> anyhow::Result<()> {
    let settings = &config.aws;
    let dead_letter = client
        .create_queue()
        .queue_name(settings.dead_letter_queue_name())
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .context("creating the dead-letter queue")?;
    let dead_letter_url = dead_letter.queue_url.context("no dead-letter queue URL")?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the dead-letter queue's ARN")?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .context("no dead-letter queue ARN")?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": arn,
        "maxReceiveCount": config.deletion.queue_max_receives.get(),
    });
    client
        .create_queue()
        .queue_name(&settings.queue_name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            config.deletion.queue_visibility.as_secs().to_string(),
        )
        .send()
        .await
        .context("creating the deletion queue")?;
    Ok(())
}
