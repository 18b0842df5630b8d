//! Limited-memory BFGS for smooth unconstrained minimisation, arranged as scipy's
//! `minimize(method="L-BFGS-B")` runs it when no variable is bounded (L-BFGS-B 3.0: Byrd, Lu,
//! Nocedal & Zhu, SIAM J. Sci. Comput. 16, 1995; Morales & Nocedal, ACM TOMS 38, 2011), so
//! that NoisyBradleyTerry takes the steps crowd-kit's scipy call takes.
//!
//! * Direction: −g while the memory is empty (L-BFGS-B's Cauchy point with B = I), otherwise
//!   −H g from the last `m` pairs (s, y) with H₀ = (sᵀy / yᵀy) I (the two-loop recursion of
//!   Nocedal, Math. Comp. 35, 1980; L-BFGS-B's compact-form subspace step is the same vector
//!   when nothing is bounded, up to rounding).
//! * Step: Moré–Thuente (MINPACK-2 `dcsrch`) with c₁ = 1e-3, c₂ = 0.9, xtol = 0.1, steps in
//!   [0, 1e10], first trial 1/‖d‖₂ on the first iteration and 1 afterwards, at most `max_ls`
//!   evaluations. A failed search (or an ascent direction) with a non-empty memory empties it
//!   and retries from −g; with an empty memory the run stops (`NoProgress`) at the last
//!   accepted point.
//! * Memory update skipped unless sᵀy > ε·(−gᵀs) (ε = machine epsilon).
//! * Stop, in scipy's order, after an accepted step: `max_iter` iterations (checked first, so
//!   `max_iter = 0` still runs one iteration, as scipy), more than `max_fun` evaluations,
//!   ‖g‖_∞ ≤ `gtol`, or (f_old − f) ≤ `ftol`·max(|f_old|, |f|, 1). Before the first iteration
//!   only ‖g‖_∞ ≤ `gtol` is tested.

use std::collections::VecDeque;

use super::optimize::{MoreThuente, Next, Wolfe, dot, inf_norm};

/// L-BFGS-B's line search constants (`lnsrlb`: ftol 1e-3, gtol 0.9, xtol 0.1, stpmin 0,
/// stpmax 1e10 for unbounded problems).
const WOLFE: Wolfe = Wolfe {
    c1: 1e-3,
    c2: 0.9,
    xtol: 0.1,
    step_min: 0.0,
    step_max: 1e10,
    c_semantics: true,
};

/// Options of [`minimize_lbfgs`] (scipy's names: `maxcor`, `maxiter`, `maxfun`, `gtol`,
/// `ftol`, `maxls`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LbfgsOptions {
    pub memory: usize,
    pub max_iter: usize,
    pub max_fun: usize,
    pub gtol: f64,
    /// Relative reduction tolerance; scipy passes `factr = ftol / eps` and L-BFGS-B tests
    /// against `factr · eps`, which this reproduces.
    pub ftol: f64,
    pub max_ls: usize,
}

impl LbfgsOptions {
    /// scipy's defaults with the given `maxiter` and `ftol`.
    pub(crate) fn scipy(max_iter: usize, ftol: f64) -> Self {
        Self {
            memory: 10,
            max_iter,
            max_fun: 15_000,
            gtol: 1e-5,
            ftol,
            max_ls: 20,
        }
    }
}

/// Why [`minimize_lbfgs`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LbfgsStatus {
    /// ‖g‖_∞ ≤ gtol.
    Gradient,
    /// Relative reduction of f ≤ ftol.
    Objective,
    MaxIterations,
    MaxEvaluations,
    /// The line search failed with an empty memory.
    NoProgress,
    /// `observe` asked to stop (after the other tests of that iteration).
    Interrupted,
}

/// Outcome of [`minimize_lbfgs`]; the minimiser is written into the `x` passed in.
#[derive(Debug, Clone)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct LbfgsOutcome {
    pub iterations: usize,
    pub evaluations: usize,
    pub f: f64,
    pub status: LbfgsStatus,
    /// f after each iteration.
    pub history: Vec<f64>,
}

/// Minimises f from `x` (overwritten with the result). `fg(x, g)` returns f(x) and writes
/// ∇f(x) into `g`. `observe(iteration, f)` is called after each accepted step; returning
/// `false` stops the minimisation there ([`LbfgsStatus::Interrupted`]) unless another stop
/// rule fires at the same step.
pub(crate) fn minimize_lbfgs<F>(
    mut fg: F,
    x: &mut [f64],
    options: LbfgsOptions,
    observe: &mut dyn FnMut(usize, f64) -> bool,
) -> LbfgsOutcome
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = fg(x, &mut g);
    let mut evaluations = 1;
    let mut history = Vec::new();
    let tol = (options.ftol / f64::EPSILON) * f64::EPSILON;
    let outcome = |iterations, evaluations, f, status, history| LbfgsOutcome {
        iterations,
        evaluations,
        f,
        status,
        history,
    };
    if inf_norm(&g) <= options.gtol {
        return outcome(0, evaluations, f, LbfgsStatus::Gradient, history);
    }
    // (s, y, 1/sᵀy), oldest first.
    let mut memory: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut theta = 1.0;
    let mut d = vec![0.0; n];
    let mut x_trial = vec![0.0; n];
    let mut g_trial = vec![0.0; n];
    let mut alpha = vec![0.0; options.memory.max(1)];
    let mut iterations = 0usize;
    loop {
        direction(&g, &memory, theta, &mut d, &mut alpha);
        let first = if iterations == 0 {
            py_min(1.0 / dot(&d, &d).sqrt(), WOLFE.step_max)
        } else {
            1.0
        };
        let gd_old = dot(&g, &d);
        let search = line_search(
            &mut fg,
            x,
            f,
            gd_old,
            &d,
            first,
            options.max_ls,
            &mut x_trial,
            &mut g_trial,
            &mut evaluations,
        );
        let Some((step, f_new, gd)) = search else {
            if memory.is_empty() {
                return outcome(iterations, evaluations, f, LbfgsStatus::NoProgress, history);
            }
            memory.clear();
            theta = 1.0;
            continue;
        };
        iterations += 1;
        let f_old = f;
        x.copy_from_slice(&x_trial);
        // y = g_new − g_old, kept in g_trial's old buffer after the swap.
        std::mem::swap(&mut g, &mut g_trial);
        f = f_new;
        history.push(f);
        let go_on = observe(iterations, f);
        if iterations >= options.max_iter {
            return outcome(
                iterations,
                evaluations,
                f,
                LbfgsStatus::MaxIterations,
                history,
            );
        }
        if evaluations > options.max_fun {
            return outcome(
                iterations,
                evaluations,
                f,
                LbfgsStatus::MaxEvaluations,
                history,
            );
        }
        if inf_norm(&g) <= options.gtol {
            return outcome(iterations, evaluations, f, LbfgsStatus::Gradient, history);
        }
        if f_old - f <= tol * f_old.abs().max(f.abs()).max(1.0) {
            return outcome(iterations, evaluations, f, LbfgsStatus::Objective, history);
        }
        if !go_on {
            return outcome(
                iterations,
                evaluations,
                f,
                LbfgsStatus::Interrupted,
                history,
            );
        }
        let y: Vec<f64> = g.iter().zip(&g_trial).map(|(new, old)| new - old).collect();
        let rr = dot(&y, &y);
        let (dr, ddum) = if step == 1.0 {
            (gd - gd_old, -gd_old)
        } else {
            ((gd - gd_old) * step, -gd_old * step)
        };
        if dr <= f64::EPSILON * ddum {
            continue;
        }
        let s: Vec<f64> = d.iter().map(|v| step * v).collect();
        if memory.len() == options.memory {
            memory.pop_front();
        }
        memory.push_back((s, y, 1.0 / dr));
        theta = rr / dr;
    }
}

/// d = −H g by the two-loop recursion, H₀ = I/θ (−g when the memory is empty).
fn direction(
    g: &[f64],
    memory: &VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    theta: f64,
    d: &mut [f64],
    alpha: &mut [f64],
) {
    d.iter_mut().zip(g).for_each(|(d, g)| *d = -g);
    if memory.is_empty() {
        return;
    }
    for (k, (s, y, rho)) in memory.iter().enumerate().rev() {
        let a = rho * dot(s, d);
        alpha[k] = a;
        d.iter_mut().zip(y).for_each(|(d, y)| *d -= a * y);
    }
    d.iter_mut().for_each(|d| *d /= theta);
    for (k, (s, y, rho)) in memory.iter().enumerate() {
        let b = rho * dot(y, d);
        let c = alpha[k] - b;
        d.iter_mut().zip(s).for_each(|(d, s)| *d += c * s);
    }
}

/// `min(a, b)` with Python's rule (`a` unless `b < a`).
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Moré–Thuente along d from x: (step, f, gᵀd) at the accepted point, whose gradient is left
/// in `g_trial` and point in `x_trial`; `None` for an ascent direction or after `max_ls`
/// evaluations without an acceptable step. A warning exit of the search accepts its last
/// trial, as L-BFGS-B does.
#[allow(clippy::too_many_arguments)]
fn line_search<F>(
    fg: &mut F,
    x: &[f64],
    f0: f64,
    gd0: f64,
    d: &[f64],
    first: f64,
    max_ls: usize,
    x_trial: &mut [f64],
    g_trial: &mut [f64],
    evaluations: &mut usize,
) -> Option<(f64, f64, f64)>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    if gd0 >= 0.0 {
        return None;
    }
    let mut search = MoreThuente::start(WOLFE, first, f0, gd0)?;
    let mut step = first;
    for _ in 0..max_ls {
        for ((xt, x), d) in x_trial.iter_mut().zip(x).zip(d) {
            *xt = step * d + x;
        }
        *evaluations += 1;
        let f = fg(x_trial, g_trial);
        let gd = dot(g_trial, d);
        match search.next(step, f, gd) {
            Next::Converged | Next::Warning => return Some((step, f, gd)),
            Next::Try(next) => step = next,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rosenbrock function in n dimensions.
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let mut f = 0.0;
        g.iter_mut().for_each(|g| *g = 0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = 1.0 - x[i];
            f += 100.0 * a * a + b * b;
            g[i] += -400.0 * a * x[i] - 2.0 * b;
            g[i + 1] += 200.0 * a;
        }
        f
    }

    #[test]
    fn minimises_rosenbrock() {
        let mut x = vec![-1.2, 1.0, -1.2, 1.0, 0.5];
        let out = minimize_lbfgs(
            rosenbrock,
            &mut x,
            LbfgsOptions::scipy(1000, 1e-15),
            &mut |_, _| true,
        );
        assert!(out.f < 1e-10, "{out:?}");
        assert!(out.evaluations > out.iterations);
        assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-4), "{x:?}");
        assert!(out.history.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn quadratic_converges_on_gradient_and_zero_max_iter_runs_one() {
        let quad = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * (x[0] - 3.0);
            g[1] = 20.0 * (x[1] + 1.0);
            (x[0] - 3.0).powi(2) + 10.0 * (x[1] + 1.0).powi(2)
        };
        let mut x = vec![0.0, 0.0];
        let out = minimize_lbfgs(quad, &mut x, LbfgsOptions::scipy(100, 0.0), &mut |_, _| {
            true
        });
        assert_eq!(out.status, LbfgsStatus::Gradient);
        assert!((x[0] - 3.0).abs() < 1e-5 && (x[1] + 1.0).abs() < 1e-5);
        let mut x = vec![0.0, 0.0];
        let out = minimize_lbfgs(quad, &mut x, LbfgsOptions::scipy(0, 0.0), &mut |_, _| true);
        assert_eq!(
            (out.iterations, out.status),
            (1, LbfgsStatus::MaxIterations)
        );
    }
}
