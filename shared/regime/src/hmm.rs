//! A Gaussian hidden Markov model with diagonal covariances: scaled forward
//! and backward passes, Baum-Welch training, Viterbi decoding and one-step
//! filtering (Rabiner 1989, with the per-step scaling of his section V.A).

use serde::{Deserialize, Serialize};

use crate::RegimeError;

/// Smallest variance a state may have (in the units of its observations):
/// keeps a state that collapses onto a few points from taking infinite density.
pub const VARIANCE_FLOOR: f64 = 1e-4;

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// The model: initial probabilities, transitions (`a[i][j]`: i → j), and per
/// state the mean and variance of every observation dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianHmm {
    pub pi: Vec<f64>,
    pub a: Vec<Vec<f64>>,
    pub means: Vec<Vec<f64>>,
    pub vars: Vec<Vec<f64>>,
}

/// The scaled forward pass: `alpha[t][i]` = P(state i at t | o_1..o_t) (each
/// row sums to 1) and the log-likelihood of the whole sequence.
#[derive(Debug, Clone)]
pub struct Forward {
    pub alpha: Vec<Vec<f64>>,
    /// Scaling factors: `ln c_t` summed is the log-likelihood.
    pub log_scale: Vec<f64>,
    pub log_likelihood: f64,
}

impl GaussianHmm {
    pub fn states(&self) -> usize {
        self.pi.len()
    }

    /// Checks shapes and that probabilities are probabilities.
    pub fn validate(&self) -> Result<(), RegimeError> {
        let k = self.pi.len();
        let bad = |m: &str| Err(RegimeError::InvalidModel(m.to_string()));
        if k == 0 {
            return bad("no states");
        }
        if self.a.len() != k || self.a.iter().any(|r| r.len() != k) {
            return bad("transition matrix is not k×k");
        }
        let d = self.means.first().map_or(0, |m| m.len());
        if d == 0
            || self.means.len() != k
            || self.vars.len() != k
            || self.means.iter().chain(&self.vars).any(|v| v.len() != d)
        {
            return bad("means and variances must be k×d");
        }
        let stochastic = |row: &[f64]| {
            row.iter().all(|p| p.is_finite() && *p >= 0.0)
                && (row.iter().sum::<f64>() - 1.0).abs() < 1e-6
        };
        if !stochastic(&self.pi) || !self.a.iter().all(|r| stochastic(r)) {
            return bad("pi and every row of a must be probabilities summing to 1");
        }
        if self
            .vars
            .iter()
            .flatten()
            .any(|v| !(v.is_finite() && *v > 0.0))
            || self.means.iter().flatten().any(|m| !m.is_finite())
        {
            return bad("means must be finite and variances positive");
        }
        Ok(())
    }

    /// ln N(o; mean_i, diag(var_i)).
    pub fn log_density(&self, state: usize, o: &[f64]) -> f64 {
        let (m, v) = (&self.means[state], &self.vars[state]);
        o.iter()
            .zip(m.iter().zip(v))
            .map(|(x, (mu, var))| -0.5 * (LN_2PI + var.ln() + (x - mu).powi(2) / var))
            .sum()
    }

    /// Emission densities of one observation, divided by the largest one (so
    /// none underflows), and the log of that divisor.
    fn emissions(&self, o: &[f64], out: &mut [f64]) -> f64 {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.log_density(i, o);
        }
        let max = out.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        for b in out.iter_mut() {
            *b = (*b - max).exp();
        }
        max
    }

    /// Forward pass with scaling.
    pub fn forward(&self, obs: &[Vec<f64>]) -> Forward {
        let k = self.states();
        let mut alpha = Vec::with_capacity(obs.len());
        let mut log_scale = Vec::with_capacity(obs.len());
        let mut b = vec![0.0; k];
        let mut prev: Vec<f64> = Vec::new();
        for (t, o) in obs.iter().enumerate() {
            let shift = self.emissions(o, &mut b);
            let mut row: Vec<f64> = (0..k)
                .map(|j| {
                    let prior = if t == 0 {
                        self.pi[j]
                    } else {
                        (0..k).map(|i| prev[i] * self.a[i][j]).sum()
                    };
                    prior * b[j]
                })
                .collect();
            let c: f64 = row.iter().sum();
            let c = if c > 0.0 && c.is_finite() {
                c
            } else {
                f64::MIN_POSITIVE
            };
            row.iter_mut().for_each(|x| *x /= c);
            log_scale.push(c.ln() + shift);
            prev = row.clone();
            alpha.push(row);
        }
        let log_likelihood = log_scale.iter().sum();
        Forward {
            alpha,
            log_scale,
            log_likelihood,
        }
    }

    /// One filtering step: from P(state | o_1..o_{t-1}) (`prev`, `None` at the
    /// start) to P(state | o_1..o_t). O(k²).
    pub fn filter_step(&self, prev: Option<&[f64]>, o: &[f64]) -> Vec<f64> {
        let k = self.states();
        let mut b = vec![0.0; k];
        self.emissions(o, &mut b);
        let mut row: Vec<f64> = (0..k)
            .map(|j| {
                let prior = match prev {
                    None => self.pi[j],
                    Some(p) => (0..k).map(|i| p[i] * self.a[i][j]).sum(),
                };
                prior * b[j]
            })
            .collect();
        let c: f64 = row.iter().sum();
        if c > 0.0 && c.is_finite() {
            row.iter_mut().for_each(|x| *x /= c);
        } else {
            row = vec![1.0 / k as f64; k];
        }
        row
    }

    /// Scaled backward pass, with the forward pass's scale factors (the
    /// emissions shifted the same way), so alpha·beta are posteriors.
    fn backward(&self, obs: &[Vec<f64>], fwd: &Forward) -> Vec<Vec<f64>> {
        let k = self.states();
        let n = obs.len();
        let mut beta = vec![vec![1.0; k]; n];
        let mut b = vec![0.0; k];
        for t in (0..n.saturating_sub(1)).rev() {
            let shift = self.emissions(&obs[t + 1], &mut b);
            // beta_t = sum_j a_ij b_j(o_{t+1}) beta_{t+1}(j) / c_{t+1}, where
            // the emissions here carry the same shift as in c_{t+1}.
            let scale = (fwd.log_scale[t + 1] - shift).exp();
            for i in 0..k {
                let s: f64 = (0..k).map(|j| self.a[i][j] * b[j] * beta[t + 1][j]).sum();
                beta[t][i] = s / scale;
            }
        }
        beta
    }

    /// Posterior state probabilities at every step (forward-backward).
    pub fn posteriors(&self, obs: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let fwd = self.forward(obs);
        let beta = self.backward(obs, &fwd);
        fwd.alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| {
                let mut g: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
                let s: f64 = g.iter().sum();
                if s > 0.0 {
                    g.iter_mut().for_each(|x| *x /= s);
                }
                g
            })
            .collect()
    }

    // The E and M steps read as Rabiner writes them: index loops over states.
    #[allow(clippy::needless_range_loop)]
    /// Baum-Welch (EM) from this model: at most `max_iter` rounds, until the
    /// log-likelihood improves by less than `tol`. Returns the log-likelihood
    /// of the final model.
    pub fn train(
        &mut self,
        obs: &[Vec<f64>],
        max_iter: usize,
        tol: f64,
    ) -> Result<f64, RegimeError> {
        let k = self.states();
        if obs.len() < 2 * k {
            return Err(RegimeError::TooFewObservations {
                needed: 2 * k,
                got: obs.len(),
            });
        }
        let d = self.means[0].len();
        let mut last = f64::NEG_INFINITY;
        let mut b = vec![0.0; k];
        for _ in 0..max_iter {
            let fwd = self.forward(obs);
            let ll = fwd.log_likelihood;
            let beta = self.backward(obs, &fwd);
            let n = obs.len();
            // gamma and xi sums.
            let mut gamma_sum = vec![0.0; k];
            let mut gamma_sum_but_last = vec![0.0; k];
            let mut xi_sum = vec![vec![0.0; k]; k];
            let mut mean_acc = vec![vec![0.0; d]; k];
            let mut sq_acc = vec![vec![0.0; d]; k];
            let mut pi = vec![0.0; k];
            for t in 0..n {
                let g: Vec<f64> = {
                    let mut g: Vec<f64> = (0..k).map(|i| fwd.alpha[t][i] * beta[t][i]).collect();
                    let s: f64 = g.iter().sum();
                    if s > 0.0 {
                        g.iter_mut().for_each(|x| *x /= s);
                    }
                    g
                };
                if t == 0 {
                    pi.clone_from(&g);
                }
                for i in 0..k {
                    gamma_sum[i] += g[i];
                    if t + 1 < n {
                        gamma_sum_but_last[i] += g[i];
                    }
                    for (x, (m, q)) in obs[t]
                        .iter()
                        .zip(mean_acc[i].iter_mut().zip(sq_acc[i].iter_mut()))
                    {
                        *m += g[i] * x;
                        *q += g[i] * x * x;
                    }
                }
                if t + 1 < n {
                    let shift = self.emissions(&obs[t + 1], &mut b);
                    let scale = (fwd.log_scale[t + 1] - shift).exp();
                    let mut xi = vec![vec![0.0; k]; k];
                    let mut total = 0.0;
                    for i in 0..k {
                        for j in 0..k {
                            let v = fwd.alpha[t][i] * self.a[i][j] * b[j] * beta[t + 1][j] / scale;
                            xi[i][j] = v;
                            total += v;
                        }
                    }
                    if total > 0.0 {
                        for i in 0..k {
                            for j in 0..k {
                                xi_sum[i][j] += xi[i][j] / total;
                            }
                        }
                    }
                }
            }
            // M step.
            self.pi = pi;
            for i in 0..k {
                let row_total: f64 = xi_sum[i].iter().sum();
                if row_total > 0.0 {
                    for j in 0..k {
                        self.a[i][j] = xi_sum[i][j] / row_total;
                    }
                }
                if gamma_sum[i] > 1e-12 {
                    for dim in 0..d {
                        let mean = mean_acc[i][dim] / gamma_sum[i];
                        let var = sq_acc[i][dim] / gamma_sum[i] - mean * mean;
                        self.means[i][dim] = mean;
                        self.vars[i][dim] = var.max(VARIANCE_FLOOR);
                    }
                }
            }
            let _ = gamma_sum_but_last;
            if (ll - last).abs() < tol {
                last = ll;
                break;
            }
            last = ll;
        }
        let _ = last;
        Ok(self.forward(obs).log_likelihood)
    }

    /// The most likely state path (log-space Viterbi).
    pub fn viterbi(&self, obs: &[Vec<f64>]) -> Vec<usize> {
        let k = self.states();
        let n = obs.len();
        if n == 0 {
            return Vec::new();
        }
        let ln = |p: f64| if p > 0.0 { p.ln() } else { f64::NEG_INFINITY };
        let mut delta: Vec<f64> = (0..k)
            .map(|i| ln(self.pi[i]) + self.log_density(i, &obs[0]))
            .collect();
        let mut back = vec![vec![0usize; k]; n];
        for t in 1..n {
            let mut next = vec![f64::NEG_INFINITY; k];
            for j in 0..k {
                let (best_i, best) = (0..k).map(|i| (i, delta[i] + ln(self.a[i][j]))).fold(
                    (0, f64::NEG_INFINITY),
                    |acc, x| if x.1 > acc.1 { x } else { acc },
                );
                next[j] = best + self.log_density(j, &obs[t]);
                back[t][j] = best_i;
            }
            delta = next;
        }
        let mut state = (0..k)
            .fold((0, f64::NEG_INFINITY), |acc, i| {
                if delta[i] > acc.1 {
                    (i, delta[i])
                } else {
                    acc
                }
            })
            .0;
        let mut path = vec![0; n];
        for t in (0..n).rev() {
            path[t] = state;
            state = back[t][state];
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two states, one dimension, unit variances, means 0 and 2.
    fn two_state() -> GaussianHmm {
        GaussianHmm {
            pi: vec![0.6, 0.4],
            a: vec![vec![0.7, 0.3], vec![0.4, 0.6]],
            means: vec![vec![0.0], vec![2.0]],
            vars: vec![vec![1.0], vec![1.0]],
        }
    }

    fn normal_pdf(x: f64, mu: f64) -> f64 {
        (-(x - mu) * (x - mu) / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }

    #[test]
    fn forward_matches_a_hand_computation() {
        let hmm = two_state();
        let obs = vec![vec![0.0], vec![2.0], vec![1.0]];
        // Unscaled forward recursion written out by hand.
        let b = |s: usize, x: f64| normal_pdf(x, [0.0, 2.0][s]);
        let a1 = [0.6 * b(0, 0.0), 0.4 * b(1, 0.0)];
        let a2 = [
            (a1[0] * 0.7 + a1[1] * 0.4) * b(0, 2.0),
            (a1[0] * 0.3 + a1[1] * 0.6) * b(1, 2.0),
        ];
        let a3 = [
            (a2[0] * 0.7 + a2[1] * 0.4) * b(0, 1.0),
            (a2[0] * 0.3 + a2[1] * 0.6) * b(1, 1.0),
        ];
        let fwd = hmm.forward(&obs);
        for (t, raw) in [a1, a2, a3].iter().enumerate() {
            let s = raw[0] + raw[1];
            assert!((fwd.alpha[t][0] - raw[0] / s).abs() < 1e-12, "t={t}");
            assert!((fwd.alpha[t][1] - raw[1] / s).abs() < 1e-12, "t={t}");
        }
        assert!((fwd.log_likelihood - (a3[0] + a3[1]).ln()).abs() < 1e-12);
        // The numbers themselves: a1 = [0.6·0.398942, 0.4·0.053991].
        assert!((a1[0] - 0.239_365_3).abs() < 1e-6);
        assert!((a1[1] - 0.021_596_4).abs() < 1e-6);
        // Filtering step by step gives the same rows.
        let f1 = hmm.filter_step(None, &obs[0]);
        let f2 = hmm.filter_step(Some(&f1), &obs[1]);
        let f3 = hmm.filter_step(Some(&f2), &obs[2]);
        for (t, f) in [f1, f2, f3].iter().enumerate() {
            assert!((f[0] - fwd.alpha[t][0]).abs() < 1e-12);
        }
    }

    #[test]
    fn posteriors_sum_to_one_and_agree_with_brute_force() {
        let hmm = two_state();
        let obs = vec![vec![0.1], vec![1.9], vec![2.2], vec![-0.3]];
        let post = hmm.posteriors(&obs);
        // Brute force over all 16 paths.
        let b = |s: usize, x: f64| normal_pdf(x, [0.0, 2.0][s]);
        let mut marg = [[0.0f64; 2]; 4];
        let mut total = 0.0;
        for path in 0..16u32 {
            let s: Vec<usize> = (0..4).map(|t| ((path >> t) & 1) as usize).collect();
            let mut p = hmm.pi[s[0]] * b(s[0], obs[0][0]);
            for t in 1..4 {
                p *= hmm.a[s[t - 1]][s[t]] * b(s[t], obs[t][0]);
            }
            total += p;
            for t in 0..4 {
                marg[t][s[t]] += p;
            }
        }
        for t in 0..4 {
            assert!((post[t][0] - marg[t][0] / total).abs() < 1e-10, "t={t}");
            assert!((post[t].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn viterbi_path_by_hand() {
        let hmm = two_state();
        // delta1 = [.6·φ(0), .4·φ(-2)] → state 0; then 2.1, 1.8 favour 1, -0.2 favours 0.
        let obs = vec![vec![0.0], vec![2.1], vec![1.8], vec![-0.2]];
        assert_eq!(hmm.viterbi(&obs), vec![0, 1, 1, 0]);
        // Brute force agrees.
        let b = |s: usize, x: f64| normal_pdf(x, [0.0, 2.0][s]);
        let mut best = (0.0, 0u32);
        for path in 0..16u32 {
            let s: Vec<usize> = (0..4).map(|t| ((path >> t) & 1) as usize).collect();
            let mut p = hmm.pi[s[0]] * b(s[0], obs[0][0]);
            for t in 1..4 {
                p *= hmm.a[s[t - 1]][s[t]] * b(s[t], obs[t][0]);
            }
            if p > best.0 {
                best = (p, path);
            }
        }
        assert_eq!(best.1, 0b0110);
    }

    #[test]
    fn baum_welch_never_lowers_the_likelihood_and_finds_the_means() {
        let mut hmm = GaussianHmm {
            pi: vec![0.5, 0.5],
            a: vec![vec![0.9, 0.1], vec![0.1, 0.9]],
            means: vec![vec![-0.5], vec![0.5]],
            vars: vec![vec![1.0], vec![1.0]],
        };
        // Long runs around -3 and +3 (deterministic wiggle).
        let obs: Vec<Vec<f64>> = (0..400)
            .map(|t| {
                let base = if (t / 50) % 2 == 0 { -3.0 } else { 3.0 };
                vec![base + ((t * 7919) % 13) as f64 / 13.0 - 0.5]
            })
            .collect();
        let before = hmm.forward(&obs).log_likelihood;
        let mut prev = before;
        for _ in 0..5 {
            let ll = hmm.train(&obs, 1, 0.0).unwrap();
            assert!(ll >= prev - 1e-9, "{ll} < {prev}");
            prev = ll;
        }
        hmm.train(&obs, 50, 1e-9).unwrap();
        let mut means: Vec<f64> = hmm.means.iter().map(|m| m[0]).collect();
        means.sort_by(f64::total_cmp);
        assert!(
            (means[0] + 3.0).abs() < 0.1 && (means[1] - 3.0).abs() < 0.1,
            "{means:?}"
        );
        assert!(hmm.a[0][0] > 0.9 && hmm.a[1][1] > 0.9);
        hmm.validate().unwrap();
    }
}
