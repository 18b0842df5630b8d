//! Nonlinear conjugate gradient (Polak–Ribière+, strong-Wolfe line search) for smooth
//! unconstrained minimisation, written for GLAD's M-step.
//!
//! Algorithm (Nocedal & Wright, *Numerical Optimization*, 2nd ed., §5.2 and Algorithms 3.5/3.6):
//!
//! * d₀ = −g₀; d_{k+1} = −g_{k+1} + β_k d_k with β_k = max(0, g_{k+1}·(g_{k+1} − g_k) / g_k·g_k)
//!   (PR+, which restarts automatically when progress stalls). If d is not a descent
//!   direction it is reset to −g.
//! * Step α_k by a line search satisfying the strong Wolfe conditions with c₁ = 1e-4 and
//!   c₂ = 0.1 (N&W's advice for nonlinear CG; scipy's CG uses 0.4 with MINPACK's line search,
//!   which reaches lower values per iteration than our bracketing/zoom does at 0.4 — with 0.1
//!   ours does at least as well within GLAD's 25-iteration M-steps). The first trial step is min(1, 1.01·2(f_k − f_{k−1})/g_k·d_k)
//!   (N&W eq. 3.60), with f_{−1} = f₀ + ‖g₀‖₂/2 on the first iteration.
//! * Bracketing doubles the step; zooming uses safeguarded cubic interpolation, falling back to
//!   bisection. Non-finite function values count as "too far".
//! * Stop when ‖g‖_∞ ≤ `gtol`, after `max_iter` iterations, or when the line search fails even
//!   from the steepest-descent direction (the point reached so far is kept).

/// Options of [`minimize_cg`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgOptions {
    pub max_iter: usize,
    pub gtol: f64,
}

/// Outcome of [`minimize_cg`]: the minimiser is written into the `x` passed in. (GLAD does not
/// need the outcome; the tests do.)
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct CgOutcome {
    pub iterations: usize,
    pub converged: bool,
}

const C1: f64 = 1e-4;
const C2: f64 = 0.1;
const MAX_BRACKET: usize = 30;
const MAX_ZOOM: usize = 30;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises f starting from `x` (overwritten with the result). `fg(x, g)` returns f(x) and
/// writes ∇f(x) into `g`.
pub(crate) fn minimize_cg<F>(mut fg: F, x: &mut [f64], options: CgOptions) -> CgOutcome
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = fg(x, &mut g);
    let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut f_prev = f + dot(&g, &g).sqrt() / 2.0;
    let mut search = LineSearch::new(n);
    let mut iterations = 0;
    while iterations < options.max_iter {
        if inf_norm(&g) <= options.gtol {
            return CgOutcome {
                iterations,
                converged: true,
            };
        }
        let mut slope = dot(&g, &d);
        if slope.is_nan() || slope >= 0.0 {
            d.iter_mut().zip(&g).for_each(|(d, g)| *d = -g);
            slope = -dot(&g, &g);
        }
        let mut step = search.run(&mut fg, x, &d, f, slope, first_step(f, f_prev, slope));
        if step.is_none() && d.iter().zip(&g).any(|(d, g)| *d != -g) {
            // Retry once from steepest descent before giving up.
            d.iter_mut().zip(&g).for_each(|(d, g)| *d = -g);
            slope = -dot(&g, &g);
            step = search.run(&mut fg, x, &d, f, slope, first_step(f, f_prev, slope));
        }
        let Some((alpha, f_new)) = step else { break };
        iterations += 1;
        x.iter_mut().zip(&d).for_each(|(x, d)| *x += alpha * d);
        let g_new = &search.g_trial;
        let gg = dot(&g, &g);
        let beta = if gg > 0.0 {
            (g_new.iter().zip(&g).map(|(a, b)| a * (a - b)).sum::<f64>() / gg).max(0.0)
        } else {
            0.0
        };
        d.iter_mut()
            .zip(g_new)
            .for_each(|(d, g)| *d = -g + beta * *d);
        g.copy_from_slice(g_new);
        f_prev = f;
        f = f_new;
    }
    CgOutcome {
        iterations,
        converged: inf_norm(&g) <= options.gtol,
    }
}

fn first_step(f: f64, f_prev: f64, slope: f64) -> f64 {
    let step = (1.01 * 2.0 * (f - f_prev) / slope).min(1.0);
    if step.is_finite() && step > 0.0 {
        step
    } else {
        1.0
    }
}

/// φ(α) = f(x + αd) and φ'(α) at one trial step.
#[derive(Clone, Copy)]
struct Trial {
    alpha: f64,
    f: f64,
    slope: f64,
}

/// Buffers of the line search; `g_trial` holds the gradient at the accepted step.
struct LineSearch {
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    g_keep: Vec<f64>,
}

impl LineSearch {
    fn new(n: usize) -> Self {
        Self {
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            g_keep: vec![0.0; n],
        }
    }

    fn eval<F>(&mut self, fg: &mut F, x: &[f64], d: &[f64], alpha: f64) -> Trial
    where
        F: FnMut(&[f64], &mut [f64]) -> f64,
    {
        for ((xt, x), d) in self.x_trial.iter_mut().zip(x).zip(d) {
            *xt = x + alpha * d;
        }
        let f = fg(&self.x_trial, &mut self.g_trial);
        let f = if f.is_nan() { f64::INFINITY } else { f };
        Trial {
            alpha,
            f,
            slope: dot(&self.g_trial, d),
        }
    }

    /// A step satisfying the strong Wolfe conditions, as (α, f(x + αd)); the gradient there is
    /// left in `g_trial`. `None` if none was found.
    fn run<F>(
        &mut self,
        fg: &mut F,
        x: &[f64],
        d: &[f64],
        f0: f64,
        slope0: f64,
        alpha1: f64,
    ) -> Option<(f64, f64)>
    where
        F: FnMut(&[f64], &mut [f64]) -> f64,
    {
        let start = Trial {
            alpha: 0.0,
            f: f0,
            slope: slope0,
        };
        let mut prev = start;
        let mut alpha = alpha1;
        for i in 0..MAX_BRACKET {
            let t = self.eval(fg, x, d, alpha);
            if t.f > f0 + C1 * t.alpha * slope0 || (i > 0 && t.f >= prev.f) {
                return self.zoom(fg, x, d, start, prev, t);
            }
            if t.slope.abs() <= -C2 * slope0 {
                return Some((t.alpha, t.f));
            }
            if t.slope >= 0.0 {
                return self.zoom(fg, x, d, start, t, prev);
            }
            prev = t;
            alpha *= 2.0;
        }
        None
    }

    /// Algorithm 3.6: `lo` satisfies sufficient decrease and has the lowest f so far; the
    /// interval between `lo` and `hi` contains strong-Wolfe steps.
    fn zoom<F>(
        &mut self,
        fg: &mut F,
        x: &[f64],
        d: &[f64],
        start: Trial,
        mut lo: Trial,
        mut hi: Trial,
    ) -> Option<(f64, f64)>
    where
        F: FnMut(&[f64], &mut [f64]) -> f64,
    {
        let lo_is_evaluated_here = |lo: &Trial| lo.alpha > 0.0;
        // The gradient at `lo` is needed if we end up accepting it; keep a copy when it moves.
        let mut have_lo_gradient = false;
        for _ in 0..MAX_ZOOM {
            let alpha = interpolate(lo, hi);
            let t = self.eval(fg, x, d, alpha);
            if t.f > start.f + C1 * t.alpha * start.slope || t.f >= lo.f {
                hi = t;
            } else {
                if t.slope.abs() <= -C2 * start.slope {
                    return Some((t.alpha, t.f));
                }
                if t.slope * (hi.alpha - lo.alpha) >= 0.0 {
                    hi = lo;
                }
                lo = t;
                self.g_keep.copy_from_slice(&self.g_trial);
                have_lo_gradient = true;
            }
            if (hi.alpha - lo.alpha).abs() <= 1e-12 * lo.alpha.abs().max(1e-300) {
                break;
            }
        }
        // No Wolfe step in the budget: accept the best decreasing step found, if any.
        if lo_is_evaluated_here(&lo) && lo.f < start.f {
            if have_lo_gradient {
                self.g_trial.copy_from_slice(&self.g_keep);
            } else {
                self.eval(fg, x, d, lo.alpha);
            }
            return Some((lo.alpha, lo.f));
        }
        None
    }
}

/// The minimiser of the cubic through (lo, hi) with their values and slopes, kept inside the
/// middle 80 % of the interval; bisection when the cubic is unusable.
fn interpolate(lo: Trial, hi: Trial) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let bisect = 0.5 * (a + b);
    if !(lo.f.is_finite() && hi.f.is_finite() && hi.slope.is_finite()) {
        return bisect;
    }
    let d1 = lo.slope + hi.slope - 3.0 * (lo.f - hi.f) / (a - b);
    let disc = d1 * d1 - lo.slope * hi.slope;
    if disc.is_nan() || disc < 0.0 {
        return bisect;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let step = b - (b - a) * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2.0 * d2);
    let (left, right) = (a.min(b), a.max(b));
    let margin = 0.1 * (right - left);
    if step.is_finite() && step >= left + margin && step <= right - margin {
        step
    } else {
        bisect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function, minimum 0 at (1, 1).
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn solves_rosenbrock() {
        let mut x = [-1.2, 1.0];
        let out = minimize_cg(
            rosenbrock,
            &mut x,
            CgOptions {
                max_iter: 2000,
                gtol: 1e-8,
            },
        );
        assert!(out.converged, "{out:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn solves_a_quadratic_in_n_steps() {
        // f = Σ i·(x_i − i)²/2: CG with exact-enough line searches needs about n iterations.
        let f = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for (i, (x, g)) in x.iter().zip(g.iter_mut()).enumerate() {
                let c = (i + 1) as f64;
                *g = c * (x - c);
                f += c * (x - c).powi(2) / 2.0;
            }
            f
        };
        let mut x = [0.0; 5];
        let out = minimize_cg(
            f,
            &mut x,
            CgOptions {
                max_iter: 100,
                gtol: 1e-9,
            },
        );
        assert!(out.converged && out.iterations <= 12, "{out:?}");
        for (i, x) in x.iter().enumerate() {
            assert!((x - (i + 1) as f64).abs() < 1e-8);
        }
    }

    #[test]
    fn survives_non_finite_values() {
        // ln barrier: f = x − ln x is +∞/NaN for x ≤ 0; minimum at x = 1.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / x[0];
            x[0] - x[0].ln()
        };
        let mut x = [0.05];
        let out = minimize_cg(
            f,
            &mut x,
            CgOptions {
                max_iter: 100,
                gtol: 1e-10,
            },
        );
        assert!(out.converged, "{out:?} {x:?}");
        assert!((x[0] - 1.0).abs() < 1e-8);
    }
}
