//! Raw writes (`api create|set|delete <path> [key=value ...]`) as an [`Action`]: the API route
//! the path matches gives the tier and the guest (DESIGN.md §4), so a raw `status/stop` on a
//! protected guest is refused like `guest stop`; reported like an action when PVE answers
//! with a UPID, else with PVE's answer as the result.

use async_trait::async_trait;

use crate::backend::{Backend, Method, Mutation, Params, routes};
use crate::error::{Error, Result};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::report::GuestState;

/// One raw write.
#[derive(Debug, Clone)]
pub struct RawWrite {
    /// `POST`, `PUT` or `DELETE`.
    pub method: Method,
    /// The API path.
    pub path: String,
    /// Parameters, in order.
    pub params: Params,
}

#[async_trait]
impl Action for RawWrite {
    fn name(&self) -> String {
        format!("api {}", self.method.pvesh_verb())
    }

    fn summary(&self, _d: &Draft) -> String {
        format!("{} {}", self.method, crate::model::excerpt(&self.path, 80))
    }

    /// Matches the path to an API route (usage error otherwise) and reads the guest's state
    /// when the route names one that exists.
    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        if self.method == Method::Get {
            return Err(Error::Usage("api get is a read".into()));
        }
        let class = routes::classify(self.method, &self.path, &self.params)?;
        let before = match &class.guest {
            Some(g) => match b.guest_status(g).await {
                Ok(s) => Some(GuestState::from_status(&s)),
                // A create names a guest that does not exist yet.
                Err(Error::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let m = Mutation::Raw { method: self.method, path: self.path.clone(), params: self.params.clone() };
        Ok(Prepared::Changes(Box::new(Draft {
            target: class.guest,
            snapshot: None,
            before,
            mutations: vec![m],
            warnings: Vec::new(),
            creates: None,
            refusal: None,
            details: None,
        })))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }
}
