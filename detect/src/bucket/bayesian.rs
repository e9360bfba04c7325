//! Bayesian buckets: after each pour the posterior starts again from the prior and every
//! condition updates it, `p = pe·p / (pe·p + pb·(1-p))` when the condition holds, the same with
//! `(1-pe, 1-pb)` when it does not. The bucket overflows when the posterior exceeds the
//! threshold. A `guillotine` condition that was true once stays true for the bucket instance
//! and is not evaluated again. The arithmetic is `f32`, as CrowdSec's.
//!
//! A condition whose evaluation fails (or is not a bool) leaves the posterior unchanged.

use palisade_expr::Program;

/// One compiled condition.
#[derive(Debug)]
pub struct BayesCondition {
    /// The condition (env `evt`, `queue`, `leaky`).
    pub program: Program,
    /// P(true | evil).
    pub evil: f32,
    /// P(true | benign).
    pub benign: f32,
    /// Sticky once true.
    pub guillotine: bool,
}

/// The bayesian part of a scenario.
#[derive(Debug)]
pub struct Bayesian {
    /// Starting probability.
    pub prior: f32,
    /// Overflow when the posterior is above it.
    pub threshold: f32,
    /// The conditions, in file order.
    pub conditions: Vec<BayesCondition>,
}

fn update(prior: f32, evil: f32, benign: f32) -> f32 {
    let num = evil * prior;
    num / (num + benign * (1.0 - prior))
}

impl Bayesian {
    /// The posterior after a pour. `fired` holds the guillotine state of the bucket instance
    /// (one flag per condition); `eval` runs a condition.
    pub fn posterior(
        &self,
        fired: &mut [bool],
        mut eval: impl FnMut(&Program) -> Option<bool>,
    ) -> f32 {
        let mut p = self.prior;
        for (i, c) in self.conditions.iter().enumerate() {
            if c.guillotine && fired.get(i).copied().unwrap_or(false) {
                p = update(p, c.evil, c.benign);
                continue;
            }
            match eval(&c.program) {
                Some(true) => {
                    p = update(p, c.evil, c.benign);
                    if let Some(f) = fired.get_mut(i) {
                        *f = true;
                    }
                }
                Some(false) => p = update(p, 1.0 - c.evil, 1.0 - c.benign),
                None => {}
            }
        }
        p
    }

    /// Whether a posterior overflows.
    pub fn overflows(&self, posterior: f32) -> bool {
        posterior > self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_expr::Context;

    fn cond(src: &str, evil: f32, benign: f32, guillotine: bool) -> BayesCondition {
        BayesCondition {
            program: Program::compile(src, &Context::event()).unwrap(),
            evil,
            benign,
            guillotine,
        }
    }

    #[test]
    fn the_repo_example_crosses_the_threshold_with_both_conditions() {
        let b = Bayesian {
            prior: 0.5,
            threshold: 0.8,
            conditions: vec![
                cond("true", 0.8, 0.2, false),
                cond("false", 0.9, 0.5, false),
            ],
        };
        let mut fired = vec![false; 2];
        let mut answers = [true, false].into_iter();
        let p = b.posterior(&mut fired, |_| answers.next());
        // 0.5 → 0.8 (first true) → 0.8·0.1 / (0.8·0.1 + 0.5·0.2) = 0.444
        assert!((p - 0.444_444).abs() < 1e-4, "{p}");
        assert!(!b.overflows(p));
        let mut answers = [true, true].into_iter();
        let p = b.posterior(&mut fired, |_| answers.next());
        assert!(b.overflows(p), "{p}");
    }

    #[test]
    fn guillotines_stay_true() {
        let b = Bayesian {
            prior: 0.5,
            threshold: 0.9,
            conditions: vec![cond("true", 0.8, 0.2, true)],
        };
        let mut fired = vec![false];
        let p1 = b.posterior(&mut fired, |_| Some(true));
        assert!(fired[0]);
        let mut called = false;
        let p2 = b.posterior(&mut fired, |_| {
            called = true;
            Some(false)
        });
        assert!(!called, "a fired guillotine is not evaluated again");
        assert_eq!(p1, p2);
    }
}
