//! The plans an MCP session made, by digest: what `apply` re-prepares. Bounded: the oldest
//! plan is forgotten first (an `apply` of it then asks for a new plan).

use std::collections::{HashMap, VecDeque};

use crate::backend::Tier;

/// Plans kept per session.
pub const MAX_PLANS: usize = 64;

/// What `apply` needs to make the plan again.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// The `plan_*` tool.
    pub tool: &'static str,
    /// Its arguments, as given.
    pub args: serde_json::Value,
    /// The plan's tier.
    pub tier: Tier,
}

/// Plans by digest, at most [`MAX_PLANS`].
#[derive(Debug, Default)]
pub struct PlanStore {
    order: VecDeque<String>,
    plans: HashMap<String, Remembered>,
}

impl PlanStore {
    /// Remembers `plan` under `digest` (again: it becomes the newest).
    pub fn insert(&mut self, digest: &str, plan: Remembered) {
        self.order.retain(|d| d != digest);
        self.order.push_back(digest.to_owned());
        self.plans.insert(digest.to_owned(), plan);
        while self.order.len() > MAX_PLANS {
            if let Some(old) = self.order.pop_front() {
                self.plans.remove(&old);
            }
        }
    }

    /// The plan remembered under `digest`.
    pub fn get(&self, digest: &str) -> Option<Remembered> {
        self.plans.get(digest).cloned()
    }

    /// Forgets `digest` (applied, or replaced by a newer plan).
    pub fn remove(&mut self, digest: &str) {
        self.order.retain(|d| d != digest);
        self.plans.remove(digest);
    }

    /// How many plans are kept.
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u64) -> Remembered {
        Remembered { tool: "plan_guest_stop", args: serde_json::json!({"vmid": n}), tier: Tier::Destructive }
    }

    #[test]
    fn bounded_oldest_first() {
        let mut s = PlanStore::default();
        for i in 0..(MAX_PLANS as u64 + 3) {
            s.insert(&format!("d{i}"), r(i));
        }
        assert_eq!(s.len(), MAX_PLANS);
        assert_eq!(s.get("d0"), None);
        assert_eq!(s.get("d2"), None);
        assert_eq!(s.get("d3"), Some(r(3)));
        // Inserting an existing digest again makes it the newest.
        s.insert("d3", r(3));
        s.insert("new", r(1));
        assert_eq!(s.get("d3"), Some(r(3)));
        assert_eq!(s.get("d4"), None);
        s.remove("d3");
        assert_eq!(s.get("d3"), None);
        assert_eq!(s.len(), MAX_PLANS - 1);
    }
}
