//! The baseline of the function benchmark: the smallest `lambda_http` function, built
//! with the same release profile, measured in the same run as Reel's functions.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
