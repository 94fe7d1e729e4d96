//! `template.yaml` and the code must describe the same tables: names, keys, key types,
//! indexes with their projections, and TTL attributes. Provisioning (`reel provision`,
//! the tests on moto) builds from `schema`, a deployment from the template; this keeps
//! the two from drifting apart.

use reel_aws::schema::{self, Key, Projection, Table};
use serde_yaml::Value;
use std::collections::BTreeSet;

#[path = "support/cfn.rs"]
mod cfn;
use cfn::{template, untagged};

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    untagged(&value[key])
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value:?}"))
}

/// (name, type) of each key attribute, and (HASH|RANGE, name) of the key schema.
fn key_schema(node: &Value) -> Vec<(String, String)> {
    node["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                str_of(k, "KeyType").to_owned(),
                str_of(k, "AttributeName").to_owned(),
            )
        })
        .collect()
}

fn expected_keys(hash: &Key, range: Option<&Key>) -> Vec<(String, String)> {
    let mut keys = vec![("HASH".to_owned(), hash.name.to_owned())];
    keys.extend(range.map(|r| ("RANGE".to_owned(), r.name.to_owned())));
    keys
}

fn check_table(resource: &Value, table: &Table) {
    let props = &resource["Properties"];
    assert_eq!(
        key_schema(props),
        expected_keys(&table.hash, table.range.as_ref()),
        "{}",
        table.name
    );
    let attributes: BTreeSet<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                str_of(a, "AttributeName").to_owned(),
                str_of(a, "AttributeType").to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = std::iter::once(&table.hash)
        .chain(table.range.as_ref())
        .chain(
            table
                .indexes
                .iter()
                .flat_map(|i| std::iter::once(&i.hash).chain(i.range.as_ref())),
        )
        .map(|k| (k.name.to_owned(), k.kind.as_str().to_owned()))
        .collect();
    assert_eq!(
        attributes, expected,
        "attribute definitions of {}",
        table.name
    );
    let indexes = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        indexes.len(),
        table.indexes.len(),
        "indexes of {}",
        table.name
    );
    for index in table.indexes {
        let found = indexes
            .iter()
            .find(|i| str_of(i, "IndexName") == index.name)
            .unwrap_or_else(|| panic!("index {} of {} missing", index.name, table.name));
        assert_eq!(
            key_schema(found),
            expected_keys(&index.hash, index.range.as_ref())
        );
        let projection = match index.projection {
            Projection::All => "ALL",
            Projection::KeysOnly => "KEYS_ONLY",
        };
        assert_eq!(
            str_of(&found["Projection"], "ProjectionType"),
            projection,
            "{}",
            index.name
        );
    }
    let ttl = &props["TimeToLiveSpecification"];
    match table.ttl {
        Some(attribute) => {
            assert_eq!(
                str_of(ttl, "AttributeName"),
                attribute,
                "TTL of {}",
                table.name
            );
            assert_eq!(ttl["Enabled"], Value::Bool(true));
        }
        None => assert!(ttl.is_null(), "{} has no TTL in the code", table.name),
    }
}

#[test]
fn template_tables_match_the_code() {
    let template = template();
    let tables: Vec<(&str, &Value)> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == Value::String("AWS::DynamoDB::Table".into()))
        .map(|r| (str_of(&r["Properties"], "TableName"), r))
        .collect();
    assert_eq!(
        tables.len(),
        schema::ALL.len(),
        "one template table per code table"
    );
    for table in &schema::ALL {
        let wanted = format!("reel-${{Stage}}-{}", table.name);
        let (_, resource) = tables
            .iter()
            .find(|(name, _)| *name == wanted)
            .unwrap_or_else(|| panic!("template has no table named {wanted}"));
        check_table(resource, table);
    }
}

#[test]
fn template_queue_names_match_the_code() {
    let template = template();
    let name = |resource: &str| {
        str_of(&template["Resources"][resource]["Properties"], "QueueName").to_owned()
    };
    let (queue, dead_letters) = (name("DeletionQueue"), name("DeletionDeadLetterQueue"));
    let settings = reel_aws::AwsSettings {
        queue_name: queue.clone(),
        ..reel_core::settings::Settings::default().aws
    };
    assert_eq!(settings.dead_letter_queue_name(), dead_letters);
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| untagged(v).as_str().unwrap().to_owned())
        .collect()
}

/// The bucket `reel provision` makes (`shared/aws/src/bucket.rs`) is the template's bucket:
/// the same CORS rule (but for the origin, which each names its own way), lifecycle
/// rules and TLS-only policy.
#[test]
fn template_bucket_matches_the_code() {
    use reel_aws::bucket;
    let t = template();
    let props = &t["Resources"]["VideoBucket"]["Properties"];
    let rules = props["CorsConfiguration"]["CorsRules"]
        .as_sequence()
        .unwrap();
    assert_eq!(rules.len(), 1);
    let cors = &rules[0];
    assert_eq!(strings(&cors["AllowedMethods"]), bucket::CORS_METHODS);
    assert_eq!(
        strings(&cors["AllowedHeaders"]),
        bucket::CORS_ALLOWED_HEADERS
    );
    assert_eq!(
        strings(&cors["ExposedHeaders"]),
        bucket::CORS_EXPOSED_HEADERS
    );
    assert_eq!(
        cors["MaxAge"].as_i64(),
        Some(i64::from(bucket::CORS_MAX_AGE_SECS))
    );
    let lifecycle: Vec<String> = props["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| str_of(r, "Id").to_owned())
        .collect();
    assert_eq!(
        lifecycle,
        [
            bucket::ABORT_INCOMPLETE_UPLOADS,
            bucket::EXPIRE_UNCONFIRMED_UPLOADS
        ]
    );
    assert_eq!(
        t["Parameters"]["UnconfirmedUploadDays"]["Default"].as_i64(),
        Some(i64::from(bucket::UNCONFIRMED_UPLOAD_DAYS))
    );
    let policy = &t["Resources"]["VideoBucketPolicy"]["Properties"]["PolicyDocument"];
    let statements = policy["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        str_of(&statements[0], "Sid"),
        bucket::DENY_INSECURE_TRANSPORT
    );
    assert_eq!(
        statements[0]["Condition"]["Bool"]["aws:SecureTransport"].as_str(),
        Some("false")
    );
}

/// The optional per-client rate limit: every resource of it exists only with
/// `WafRequestsPerAddress`, the WAF rule counts per client address and answers in the
/// API's envelope, and CloudFront sends exactly what `http::proxy` checks and reads.
#[test]
fn the_optional_waf_and_distribution_match_the_code() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let optional: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| r["Condition"].as_str() == Some("HasWaf"))
        .map(|(name, _)| name.as_str().unwrap())
        .collect();
    assert_eq!(
        optional,
        [
            "SiteWebAcl",
            "SiteForwardedHostFunction",
            "SiteCachePolicy",
            "SiteOriginRequestPolicy",
            "SiteDistribution"
        ]
    );

    let acl = &t["Resources"]["SiteWebAcl"]["Properties"];
    assert_eq!(str_of(acl, "Scope"), "CLOUDFRONT");
    let rule = &acl["Rules"][0];
    let rate = &rule["Statement"]["RateBasedStatement"];
    assert_eq!(str_of(rate, "AggregateKeyType"), "IP");
    let block = &rule["Action"]["Block"]["CustomResponse"];
    assert_eq!(block["ResponseCode"].as_i64(), Some(429));
    let body_key = str_of(block, "CustomResponseBodyKey");
    let body: serde_json::Value =
        serde_json::from_str(str_of(&acl["CustomResponseBodies"][body_key], "Content")).unwrap();
    assert_eq!(body["error_code"], "008");

    let distribution = &t["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"];
    let origin_headers = &distribution["Origins"][0]["OriginCustomHeaders"][0];
    assert_eq!(
        str_of(origin_headers, "HeaderName").to_ascii_lowercase(),
        reel_http::proxy::SECRET_HEADER
    );
    // What reaches the origin: the origin request policy's headers and the cache key's
    // (CloudFront forwards what it keys on).
    let forwarded: Vec<String> = strings(
        &t["Resources"]["SiteOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
            ["HeadersConfig"]["Headers"],
    )
    .iter()
    .chain(&strings(&cache_key(&t)["HeadersConfig"]["Headers"]))
    .map(|h| h.to_ascii_lowercase())
    .collect();
    for needed in [
        "cloudfront-viewer-address",
        "x-forwarded-host",
        "x-session-id",
        "sec-fetch-site",
        "content-type",
    ] {
        assert!(
            forwarded.iter().any(|h| h == needed),
            "{needed} is forwarded"
        );
    }
    assert!(
        !forwarded.iter().any(|h| h == "host"),
        "API Gateway needs its own Host"
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let Value::Tagged(secret) = &env["REEL_ORIGIN_SECRET"] else {
        panic!("REEL_ORIGIN_SECRET is an !If")
    };
    assert_eq!(secret.tag, "If");
    assert_eq!(secret.value[0].as_str(), Some("HasWaf"));
}

/// The dispatcher sweeps deleted accounts (`Deletions::sweep_deleted_accounts`): moto
/// does not enforce IAM, so its permissions are checked here. It reads the by-author
/// index, deletes late video items and puts their records, and deletes a swept
/// account's record.
#[test]
fn the_dispatcher_may_sweep_deleted_accounts() {
    let t = template();
    let statements =
        &t["Resources"]["DeletionDispatcherFunction"]["Properties"]["Policies"][0]["Statement"];
    let actions = |sid: &str| -> Vec<String> {
        let statement = statements
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
            .unwrap_or_else(|| panic!("no statement {sid}"));
        strings(&statement["Action"])
    };
    let has = |sid: &str, action: &str| actions(sid).iter().any(|a| a == action);
    assert!(has("VideosByAuthorIndex", "dynamodb:Query"));
    assert!(has("VideosTable", "dynamodb:DeleteItem"));
    for action in ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"] {
        assert!(has("DeletionsTable", action), "{action}");
    }
}

/// The cache policy's `ParametersInCacheKeyAndForwardedToOrigin`.
fn cache_key(t: &Value) -> &Value {
    &t["Resources"]["SiteCachePolicy"]["Properties"]["CachePolicyConfig"]
        ["ParametersInCacheKeyAndForwardedToOrigin"]
}

/// The optional CloudFront distribution shares only anonymous replies. Every cache
/// behavior uses the template's own cache policy (a `!Ref`, not a managed policy id),
/// whose key holds the `session` cookie and the `X-Session-Id` header: a request that
/// carries a session, in either place, can never match the entry an anonymous request
/// left, nor another session's. Its MinTTL is 0, so CloudFront obeys the origin's
/// `Cache-Control`: every reply to a request carrying a session says `private` or
/// `no-store` (`shared/http/src/cache.rs`; the events and contract tests check those
/// headers), and with MinTTL 0 such a reply is never stored; DefaultTTL 0 stores
/// nothing that says nothing (errors, redirects); MaxTTL keeps nothing longer than the
/// API's `max-age` of 60 s. Query strings are all in the key (cursors, limits). Key
/// separation and the origin's `private` together mean a signed-in request is answered
/// from the origin, every time.
#[test]
fn a_signed_in_request_is_never_answered_from_the_shared_cache() {
    let t = template();
    let distribution = &t["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"];
    let mut behaviors = vec![&distribution["DefaultCacheBehavior"]];
    if let Some(more) = distribution["CacheBehaviors"].as_sequence() {
        behaviors.extend(more);
    }
    for behavior in behaviors {
        let policy = &behavior["CachePolicyId"];
        let Value::Tagged(reference) = policy else {
            panic!("a managed or literal cache policy: {policy:?}")
        };
        assert_eq!(reference.tag, "Ref");
        assert_eq!(reference.value.as_str(), Some("SiteCachePolicy"));
        assert!(
            behavior["ForwardedValues"].is_null() && behavior["MinTTL"].is_null(),
            "no legacy cache settings beside the policy"
        );
    }

    let config = &t["Resources"]["SiteCachePolicy"]["Properties"]["CachePolicyConfig"];
    let ttl = |name: &str| {
        config[name]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} is a number"))
    };
    assert_eq!(ttl("MinTTL"), 0, "the origin's private/no-store is obeyed");
    assert_eq!(
        ttl("DefaultTTL"),
        0,
        "a reply without Cache-Control is not kept"
    );
    assert!(
        (0..=i64::from(reel_http::cache::MAX_AGE_SECS)).contains(&ttl("MaxTTL")),
        "nothing is kept longer than the API's max-age"
    );

    let key = cache_key(&t);
    let cookies = &key["CookiesConfig"];
    let keyed_cookies = match str_of(cookies, "CookieBehavior") {
        "whitelist" => strings(&cookies["Cookies"]),
        // Every cookie is in the key, the session's too.
        "all" => vec![reel_http::extract::SESSION_COOKIE.to_owned()],
        other => panic!("cookies {other}: the session cookie must be in the key"),
    };
    assert!(
        keyed_cookies
            .iter()
            .any(|c| c == reel_http::extract::SESSION_COOKIE),
        "the session cookie is in the key: {keyed_cookies:?}"
    );
    let headers = &key["HeadersConfig"];
    assert_eq!(str_of(headers, "HeaderBehavior"), "whitelist");
    assert!(
        strings(&headers["Headers"])
            .iter()
            .any(|h| h.eq_ignore_ascii_case(reel_http::extract::SESSION_HEADER)),
        "X-Session-Id is in the key"
    );
    // Pages write absolute URLs with the viewer's host: one copy per name.
    assert!(
        strings(&headers["Headers"])
            .iter()
            .any(|h| h.eq_ignore_ascii_case("x-forwarded-host")),
        "X-Forwarded-Host is in the key"
    );
    assert_eq!(
        str_of(&key["QueryStringsConfig"], "QueryStringBehavior"),
        "all"
    );
}

/// The bucket's part of multipart uploads: an upload nobody completes or aborts is
/// discarded once it has expired (two days, `MULTIPART_LIFETIME_SECS`, never sooner),
/// and the page may PUT parts from the browser and read each one's `ETag`, which the
/// completion names.
#[test]
fn the_bucket_serves_multipart_uploads() {
    use reel_core::domain::MULTIPART_LIFETIME_SECS;
    let t = template();
    let props = &t["Resources"]["VideoBucket"]["Properties"];
    let rules = props["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let abort = rules
        .iter()
        .find(|r| str_of(r, "Id") == reel_aws::bucket::ABORT_INCOMPLETE_UPLOADS)
        .expect("the abort rule");
    assert_eq!(str_of(abort, "Status"), "Enabled");
    assert!(
        abort["Prefix"].is_null() && abort["TagFilters"].is_null(),
        "it applies to every upload"
    );
    let days = abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_i64();
    assert_eq!(days, Some(2));
    assert_eq!(days, Some(MULTIPART_LIFETIME_SECS / 86_400));

    let cors = &props["CorsConfiguration"]["CorsRules"][0];
    assert!(strings(&cors["ExposedHeaders"]).contains(&"ETag".to_owned()));
    assert!(strings(&cors["AllowedMethods"]).contains(&"PUT".to_owned()));
}

/// The routes that call S3's multipart uploads (and `POST /upload/{vid}`, which
/// begins one) are the uploads function's, the one HTTP function with an S3 client, and
/// it gets the threshold setting; the videos function signs the parts' URLs offline.
#[test]
fn the_multipart_calls_to_s3_are_the_uploads_functions() {
    let t = template();
    let mut routes = std::collections::BTreeMap::new();
    for (logical, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let route = (
                str_of(&event["Properties"], "Method").to_uppercase(),
                str_of(&event["Properties"], "Path").to_owned(),
            );
            routes.insert(route, logical.as_str().unwrap().to_owned());
        }
    }
    for (method, path, function) in [
        ("POST", "/upload/{vid}", "UploadsFunction"),
        ("DELETE", "/upload/{vid}", "UploadsFunction"),
        ("POST", "/upload/{vid}/parts", "VideosFunction"),
        ("GET", "/upload/{vid}/parts", "UploadsFunction"),
        ("POST", "/upload/{vid}/complete", "UploadsFunction"),
    ] {
        assert_eq!(
            routes
                .get(&(method.to_owned(), path.to_owned()))
                .map(String::as_str),
            Some(function),
            "{method} {path}"
        );
    }
    let env = &t["Resources"]["UploadsFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        untagged(&env["REEL_MULTIPART_THRESHOLD_BYTES"]).as_str(),
        Some("MultipartThresholdBytes")
    );
}

/// The upload parameters' defaults are the code's, and their bounds the ones the code
/// takes: the threshold at most a single PUT, the largest video the largest plan.
#[test]
fn the_upload_parameters_match_the_code() {
    use reel_core::domain::{PartPlan, MAX_SINGLE_PUT};
    let t = template();
    let defaults = reel_core::settings::Settings::default().api;
    let parameter = |name: &str, key: &str| {
        t["Parameters"][name][key]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}.{key}"))
    };
    assert_eq!(
        parameter("MaxUploadBytes", "Default"),
        defaults.max_upload_bytes.get()
    );
    assert_eq!(parameter("MaxUploadBytes", "Default"), 53_687_091_200);
    let largest = parameter("MaxUploadBytes", "MaxValue");
    assert!(PartPlan::for_size(largest).is_some());
    assert!(PartPlan::for_size(largest + 1).is_none());
    assert_eq!(
        parameter("MultipartThresholdBytes", "Default"),
        defaults.multipart_threshold_bytes.get()
    );
    assert_eq!(parameter("MultipartThresholdBytes", "Default"), 67_108_864);
    assert_eq!(
        parameter("MultipartThresholdBytes", "MaxValue"),
        MAX_SINGLE_PUT
    );
    assert_eq!(parameter("MultipartThresholdBytes", "MinValue"), 1);
}
