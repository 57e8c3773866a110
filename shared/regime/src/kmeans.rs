//! k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) from a fixed
//! seed, then Lloyd iterations: the same points always give the same centroids.

use serde::{Deserialize, Serialize};

use crate::RegimeError;

/// SplitMix64 (Steele et al. 2014): a tiny deterministic generator, enough for
/// picking seeds; no dependency on a `rand` version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Trained centroids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    pub centroids: Vec<Vec<f64>>,
}

pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

impl KMeans {
    /// Clusters `points` into `k` groups.
    pub fn fit(
        points: &[Vec<f64>],
        k: usize,
        seed: u64,
        max_iter: usize,
    ) -> Result<KMeans, RegimeError> {
        if k == 0 || points.len() < k {
            return Err(RegimeError::TooFewObservations {
                needed: k.max(1),
                got: points.len(),
            });
        }
        let mut rng = SplitMix64::new(seed);
        // k-means++: first centroid uniform, then each with probability
        // proportional to the squared distance to the nearest one chosen.
        let mut centroids = vec![points[(rng.next_u64() % points.len() as u64) as usize].clone()];
        let mut nearest: Vec<f64> = points
            .iter()
            .map(|p| squared_distance(p, &centroids[0]))
            .collect();
        while centroids.len() < k {
            let total: f64 = nearest.iter().sum();
            let pick = if total > 0.0 {
                let mut target = rng.next_f64() * total;
                let mut chosen = points.len() - 1;
                for (i, d) in nearest.iter().enumerate() {
                    if target < *d {
                        chosen = i;
                        break;
                    }
                    target -= d;
                }
                chosen
            } else {
                (rng.next_u64() % points.len() as u64) as usize
            };
            let c = points[pick].clone();
            for (n, p) in nearest.iter_mut().zip(points) {
                *n = n.min(squared_distance(p, &c));
            }
            centroids.push(c);
        }
        let mut model = KMeans { centroids };
        let mut assignment = vec![usize::MAX; points.len()];
        for _ in 0..max_iter {
            let mut changed = false;
            for (a, p) in assignment.iter_mut().zip(points) {
                let c = model.nearest(p);
                if *a != c {
                    *a = c;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
            let d = points[0].len();
            let mut sums = vec![vec![0.0; d]; k];
            let mut counts = vec![0usize; k];
            for (a, p) in assignment.iter().zip(points) {
                counts[*a] += 1;
                for (s, x) in sums[*a].iter_mut().zip(p) {
                    *s += x;
                }
            }
            for c in 0..k {
                // An emptied cluster keeps its centroid.
                if counts[c] > 0 {
                    model.centroids[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
                }
            }
        }
        Ok(model)
    }

    /// Index of the nearest centroid (the first on a tie).
    pub fn nearest(&self, p: &[f64]) -> usize {
        let mut best = (0, f64::INFINITY);
        for (i, c) in self.centroids.iter().enumerate() {
            let d = squared_distance(p, c);
            if d < best.1 {
                best = (i, d);
            }
        }
        best.0
    }

    /// Distances to every centroid.
    pub fn distances(&self, p: &[f64]) -> Vec<f64> {
        self.centroids
            .iter()
            .map(|c| squared_distance(p, c).sqrt())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_three_blobs_and_is_deterministic() {
        let mut rng = SplitMix64::new(7);
        let centres = [[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]];
        let points: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                let c = centres[i % 3];
                vec![c[0] + rng.next_f64() - 0.5, c[1] + rng.next_f64() - 0.5]
            })
            .collect();
        let a = KMeans::fit(&points, 3, 42, 100).unwrap();
        let b = KMeans::fit(&points, 3, 42, 100).unwrap();
        assert_eq!(a, b);
        for c in centres {
            let i = a.nearest(&c);
            assert!(
                squared_distance(&a.centroids[i], &c) < 0.05,
                "{:?}",
                a.centroids
            );
        }
        // Every point lands with the others of its blob.
        for (i, p) in points.iter().enumerate() {
            assert_eq!(a.nearest(p), a.nearest(&points[i % 3]));
        }
        assert!(KMeans::fit(&points[..2], 3, 1, 10).is_err());
    }
}
