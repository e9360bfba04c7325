//! The token bucket behind leaky scenarios, computed lazily from timestamps.
//!
//! CrowdSec uses its fork of `golang.org/x/time/rate` with `burst = capacity` and a refill of one
//! token per `leakspeed`. This file reproduces that limiter's arithmetic step for step, in
//! `f64` as Go does, so that boundary cases (an event exactly one leak period later) decide the
//! same way:
//!
//! ```text
//! allow(t):
//!   last    = min(state.last, t)                     # no refill for an out-of-order t
//!   tokens  = min(burst, state.tokens + seconds(t - last) * limit)
//!   tokens -= 1
//!   wait    = trunc_ns((-tokens / limit) * 1e9)  if tokens < 0  else 0
//!   ok      = 1 <= burst && wait <= 0
//!   if ok: state = (tokens, t)                       # a refused event changes nothing
//! ```
//!
//! A bucket that never allowed anything has `last` = "never", which Go represents by the zero
//! time: the elapsed time is then huge and the bucket starts full. Nothing runs between pours:
//! the level at any instant is a function of `(tokens, last)`, so there is no timer per bucket.

/// What limits pours into a bucket instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limiter {
    /// `capacity: -1` (counter, conditional, bayesian): every pour is allowed (`rate.AlwaysFull`).
    Always,
    /// A token bucket.
    Token {
        /// `capacity`.
        burst: i64,
        /// Tokens per second, `1 / leakspeed`; infinite when the leak speed is 0.
        limit: f64,
    },
}

/// Go's `time.Duration.Seconds()` on a count of nanoseconds.
fn seconds(ns: i64) -> f64 {
    let sec = ns / 1_000_000_000;
    let nsec = ns % 1_000_000_000;
    sec as f64 + nsec as f64 / 1e9
}

impl Limiter {
    /// The limiter of a scenario: `rate.NewLimiter(rate.Every(leakspeed), capacity)`, or
    /// always-allow for `capacity == -1`.
    pub fn new(capacity: i64, leakspeed_ns: i64) -> Self {
        if capacity == -1 {
            return Limiter::Always;
        }
        let limit = if leakspeed_ns <= 0 {
            f64::INFINITY
        } else {
            1.0 / seconds(leakspeed_ns)
        };
        Limiter::Token {
            burst: capacity,
            limit,
        }
    }
}

/// The mutable part of a token bucket: the level after the last allowed pour, and its time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenState {
    /// Tokens left after the last allowed pour.
    pub tokens: f64,
    /// Nanoseconds since the epoch of the last allowed pour; `i64::MIN` means never.
    pub last: i64,
}

impl Default for TokenState {
    fn default() -> Self {
        TokenState::full()
    }
}

/// `rate.InfDuration`.
const INF_DURATION: i64 = i64::MAX;

impl TokenState {
    /// A fresh bucket: full.
    pub fn full() -> Self {
        TokenState {
            tokens: 0.0,
            last: i64::MIN,
        }
    }

    /// The level the bucket would have at `now` (`TokensAt`), without changing it.
    pub fn tokens_at(&self, limiter: Limiter, now: i64) -> f64 {
        match limiter {
            Limiter::Always => f64::INFINITY,
            Limiter::Token { burst, limit } => self.advance(burst, limit, now),
        }
    }

    fn advance(&self, burst: i64, limit: f64, now: i64) -> f64 {
        let burst = burst as f64;
        if self.last == i64::MIN {
            // Go: the elapsed time since the zero time saturates; the refill fills the bucket.
            return burst;
        }
        let last = self.last.min(now);
        let elapsed = now.saturating_sub(last);
        let delta = if limit <= 0.0 {
            0.0
        } else {
            seconds(elapsed) * limit
        };
        let tokens = self.tokens + delta;
        if tokens > burst {
            burst
        } else {
            tokens
        }
    }

    /// `AllowN(now, 1)`: takes one token if one is there (to Go's nanosecond tolerance).
    pub fn allow(&mut self, limiter: Limiter, now: i64) -> bool {
        let (burst, limit) = match limiter {
            Limiter::Always => return true,
            Limiter::Token { limit, .. } if limit == f64::INFINITY => return true,
            Limiter::Token { burst, limit } => (burst, limit),
        };
        let tokens = self.advance(burst, limit, now) - 1.0;
        let mut wait: i64 = 0;
        if tokens < 0.0 {
            let d = (-tokens / limit) * 1e9;
            wait = if d > i64::MAX as f64 {
                INF_DURATION
            } else {
                d as i64
            };
        }
        let ok = 1 <= burst && wait <= 0;
        if ok {
            self.last = now;
            self.tokens = tokens;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn starts_full_and_refills_continuously() {
        let lim = Limiter::new(2, 10 * S);
        let mut b = TokenState::full();
        assert!(b.allow(lim, 0));
        assert!(b.allow(lim, 0));
        assert!(!b.allow(lim, 0), "the third event of a burst overflows");
        assert!(!b.allow(lim, 9 * S));
        assert!(b.allow(lim, 10 * S), "one token back after one leak period");
        assert!((b.tokens_at(lim, 15 * S) - 0.5).abs() < 1e-9);
        assert_eq!(b.tokens_at(lim, 1000 * S), 2.0, "never above capacity");
    }

    #[test]
    fn the_repo_example_overflows_on_the_second_event() {
        // capacity 1, leakspeed 10s, events at 0 and 5s
        let lim = Limiter::new(1, 10 * S);
        let mut b = TokenState::full();
        assert!(b.allow(lim, 0));
        assert!(!b.allow(lim, 5 * S));
    }

    #[test]
    fn out_of_order_events_get_no_refill() {
        let lim = Limiter::new(1, 10 * S);
        let mut b = TokenState::full();
        assert!(b.allow(lim, 100 * S));
        assert!(!b.allow(lim, 50 * S));
        assert!(b.allow(lim, 110 * S));
    }

    #[test]
    fn counters_and_zero_leak_always_allow() {
        let mut b = TokenState::full();
        for t in 0..100 {
            assert!(b.allow(Limiter::new(-1, 0), t));
            assert!(b.allow(Limiter::new(3, 0), t));
        }
        let mut z = TokenState::full();
        assert!(
            !z.allow(Limiter::new(0, S), 0),
            "a zero burst allows nothing"
        );
    }

    #[test]
    fn fractional_leak_speeds() {
        let lim = Limiter::new(1, S / 2);
        let mut b = TokenState::full();
        assert!(b.allow(lim, 0));
        assert!(!b.allow(lim, S / 4));
        assert!(b.allow(lim, S / 2));
        let lim3 = Limiter::new(1, 3 * S);
        let mut c = TokenState::full();
        assert!(c.allow(lim3, 0));
        assert!(c.allow(lim3, 3 * S), "3 * (1/3) reaches a whole token");
        assert!(c.allow(lim3, 6 * S));
    }
}
