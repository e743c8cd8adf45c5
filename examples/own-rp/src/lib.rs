//! "My product", as the README's examples call it: a relying party started for tests. Here it is
//! the harness's reference RP behind a product-style start function with its own error type.

/// The product's test entry points.
pub mod my_product {
    use sso_harness::rp::{RpSettings, RunningReferenceRp, RunningRp};

    /// The product's own error (not the harness's), to show that `LaunchRp` takes it with `?`.
    #[derive(Debug, thiserror::Error)]
    #[error("my product could not start for tests")]
    pub struct StartError(#[source] sso_harness::rp::RpError);

    /// Starts the product's RP with the harness's settings.
    pub async fn start_for_tests(settings: RpSettings) -> Result<Box<dyn RunningRp>, StartError> {
        let running = RunningReferenceRp::start(settings).await.map_err(StartError)?;
        Ok(Box::new(running))
    }
}

/// The product's RP as a [`LaunchRp`](sso_harness::LaunchRp).
#[derive(Debug)]
pub struct MyProductRp;

impl sso_harness::LaunchRp for MyProductRp {
    fn launch(&self, settings: sso_harness::RpSettings) -> sso_harness::rp::Launching<'_> {
        Box::pin(async move { Ok(my_product::start_for_tests(settings).await?) })
    }
}
