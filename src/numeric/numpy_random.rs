//! numpy's legacy random streams (`numpy.random.RandomState(seed)`), so that seeded methods
//! start from the same numbers as crowd-kit.
//!
//! The generator is the 32-bit Mersenne Twister MT19937 (Matsumoto & Nishimura 1998), seeded
//! with its reference `init_genrand` routine, which is what `RandomState(int)` does. On top:
//! * `random_sample`: a 53-bit double from two draws, (a >> 5, b >> 6) → (a·2²⁶ + b) / 2⁵³;
//! * `gauss`: the legacy polar Box–Muller method, which makes two normals per accepted pair
//!   and returns the second one first, caching the other.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The state of `numpy.random.RandomState(seed)`.
pub(crate) struct RandomState {
    state: [u32; N],
    index: usize,
    cached_gauss: Option<f64>,
}

impl RandomState {
    /// `RandomState(seed)` for a 32-bit seed.
    pub(crate) fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            state,
            index: N,
            cached_gauss: None,
        }
    }

    /// Regenerates the 624 words of state (the "twist").
    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mut next = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= MATRIX_A;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// The next tempered 32-bit output.
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double uniform on [0, 1) with 53 random bits (`random_sample`).
    pub(crate) fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A standard normal by numpy's legacy polar method (`standard_normal` / `normal`).
    pub(crate) fn gauss(&mut self) -> f64 {
        if let Some(cached) = self.cached_gauss.take() {
            return cached;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_mt19937_outputs() {
        // init_genrand(5489) outputs from the MT19937 reference implementation (mt19937ar.c);
        // the 10000th output is the C++ standard's check value for std::mt19937.
        let mut rng = RandomState::new(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
        assert_eq!(rng.next_u32(), 581_869_302);
        for _ in 2..9999 {
            rng.next_u32();
        }
        assert_eq!(rng.next_u32(), 4_123_659_995);
    }

    #[test]
    fn numpy_random_sample_seed_0() {
        // numpy: np.random.RandomState(0).random_sample(3)
        let mut rng = RandomState::new(0);
        assert_eq!(rng.random_sample(), 0.5488135039273248);
        assert_eq!(rng.random_sample(), 0.7151893663724195);
        assert_eq!(rng.random_sample(), 0.6027633760716439);
    }

    #[test]
    fn numpy_legacy_normal_seed_0() {
        // numpy: np.random.seed(0); np.random.normal(loc=1, scale=1, size=3)
        let mut rng = RandomState::new(0);
        let draws: Vec<f64> = (0..3).map(|_| 1.0 + rng.gauss()).collect();
        assert_eq!(
            draws,
            [2.764052345967664, 1.4001572083672233, 1.9787379841057393]
        );
    }
}
