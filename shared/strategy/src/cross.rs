//! backtesting.py's `crossover(a, b)`: `a[-2] < b[-2] and a[-1] > b[-1]`. Strict
//! on both bars, so passing through an exact tie is not a cross.

/// Which way `a` crossed `b` on this bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossed {
    Above,
    Below,
}

/// Remembers the previous pair of values.
#[derive(Debug, Clone, Default)]
pub struct Cross {
    prev: Option<(f64, f64)>,
}

impl Cross {
    pub fn update(&mut self, a: f64, b: f64) -> Option<Crossed> {
        let crossed = match self.prev {
            Some((pa, pb)) if pa < pb && a > b => Some(Crossed::Above),
            Some((pa, pb)) if pa > pb && a < b => Some(Crossed::Below),
            _ => None,
        };
        self.prev = Some((a, b));
        crossed
    }

    pub fn reset(&mut self) {
        self.prev = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_crossings_only() {
        let mut c = Cross::default();
        assert_eq!(c.update(1.0, 2.0), None);
        assert_eq!(c.update(3.0, 2.0), Some(Crossed::Above));
        assert_eq!(c.update(2.0, 2.0), None);
        assert_eq!(c.update(1.0, 2.0), None, "from a tie is not a cross");
        assert_eq!(c.update(3.0, 2.0), Some(Crossed::Above));
        assert_eq!(c.update(1.0, 2.0), Some(Crossed::Below));
    }
}
