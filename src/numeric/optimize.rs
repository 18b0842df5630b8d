//! Nonlinear conjugate gradient for smooth unconstrained minimisation, written for GLAD's
//! M-step to take the same steps as `scipy.optimize.minimize(method="CG")` (scipy 1.17), which
//! crowd-kit's GLAD calls.
//!
//! Algorithm (our implementation of the published methods, arranged as scipy arranges them):
//!
//! * Direction: d₀ = −g₀; d_{k+1} = −g_{k+1} + β_k d_k with the Polak–Ribière+ coefficient
//!   β_k = max(0, (g_{k+1} − g_k)·g_{k+1} / g_k·g_k). There is no restart rule; instead a step is
//!   only accepted if it reaches ‖g_{k+1}‖_∞ ≤ `gtol` or if the next direction satisfies the
//!   sufficient-descent condition d_{k+1}·g_{k+1} ≤ −0.01 ‖g_{k+1}‖² (Gilbert & Nocedal, SIAM J.
//!   Optim. 2, 1992).
//! * Step: first the Moré–Thuente line search (ACM TOMS 20, 1994; MINPACK-2 `dcsrch`/`dcstep`)
//!   for the strong Wolfe conditions with c₁ = 1e-4, c₂ = 0.4, x-tolerance 1e-14, steps in
//!   [1e-100, 1e100], at most 100 trials. If it fails (a warning exit counts as a failure) or its
//!   step fails the descent condition above, the bracketing/zoom search of Nocedal & Wright
//!   (*Numerical Optimization*, Algorithms 3.5/3.6; ≤ 10 doublings, ≤ 10 zoom steps, cubic then
//!   quadratic interpolation then bisection) is tried with the descent condition as an extra
//!   acceptance test. Both start from α₁ = min(1, 1.01·2(f_k − f_{k−1})/g_k·d_k) (1 if that is
//!   negative), with f_{−1} = f₀ + ‖g₀‖₂/2.
//! * Stop when ‖g‖_∞ ≤ `gtol` (NaN also stops), after `max_iter` iterations, or when both line
//!   searches fail (the current point is kept).
//!
//! Rounding aside (sums are accumulated left to right, numpy uses BLAS), the iterates are the
//! ones scipy computes. One deliberate simplification: where scipy's cubic/quadratic
//! interpolation traps a floating-point exception, we reject the interpolant whenever an
//! intermediate value is not finite.

/// Options of [`minimize_cg`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgOptions {
    pub max_iter: usize,
    pub gtol: f64,
}

/// Why [`minimize_cg`] stopped (scipy's `status`/`warnflag` 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CgStatus {
    Converged,
    MaxIterations,
    LineSearchFailed,
    NotFinite,
}

/// Outcome of [`minimize_cg`]: the minimiser is written into the `x` passed in. GLAD reports
/// it per EM iteration ([`crate::aggregation::InnerSolve`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgOutcome {
    pub iterations: usize,
    /// Calls of the objective (each computes the value and the gradient).
    pub evaluations: usize,
    pub status: CgStatus,
}

impl From<CgOutcome> for crate::aggregation::InnerSolve {
    fn from(outcome: CgOutcome) -> Self {
        use crate::aggregation::InnerStatus;
        Self {
            iterations: outcome.iterations,
            evaluations: outcome.evaluations,
            status: match outcome.status {
                CgStatus::Converged => InnerStatus::Converged,
                CgStatus::MaxIterations => InnerStatus::MaxIterations,
                CgStatus::LineSearchFailed => InnerStatus::LineSearchFailed,
                CgStatus::NotFinite => InnerStatus::NotFinite,
            },
        }
    }
}

const C1: f64 = 1e-4;
const C2: f64 = 0.4;
/// Sufficient-descent constant of the PR+ step test.
const SIGMA3: f64 = 0.01;
const STEP_MIN: f64 = 1e-100;
const STEP_MAX: f64 = 1e100;
const STEP_XTOL: f64 = 1e-14;
const MORE_THUENTE_MAX_TRIALS: usize = 100;

/// Constants of the Moré–Thuente line search (MINPACK-2 `dcsrch`'s `ftol`, `gtol`, `xtol`,
/// `stpmin`, `stpmax`): sufficient decrease c₁, curvature c₂, relative interval tolerance, and
/// the step bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wolfe {
    pub c1: f64,
    pub c2: f64,
    pub xtol: f64,
    pub step_min: f64,
    pub step_max: f64,
    /// Bound and comparison semantics: `false` for scipy's Python port of `dcsrch` (Python's
    /// `min`/`max`, numpy's NaN-propagating `clip`), `true` for L-BFGS-B's C code (`fmin`/`fmax`,
    /// which ignore a NaN argument, and a strict `<` in the first case of `dcstep`). They only
    /// differ once a NaN appears (an objective or gradient that overflowed).
    pub c_semantics: bool,
}

impl Wolfe {
    /// scipy's CG (`line_search_wolfe1` with c₂ = 0.4).
    const CG: Wolfe = Wolfe {
        c1: C1,
        c2: C2,
        xtol: STEP_XTOL,
        step_min: STEP_MIN,
        step_max: STEP_MAX,
        c_semantics: false,
    };
}

/// min and max in the semantics chosen by [`Wolfe::c_semantics`].
#[derive(Clone, Copy)]
struct MinMax {
    c: bool,
}

impl MinMax {
    fn min(self, a: f64, b: f64) -> f64 {
        if self.c { a.min(b) } else { py_min(a, b) }
    }

    fn max(self, a: f64, b: f64) -> f64 {
        if self.c { a.max(b) } else { py_max(a, b) }
    }
}
const BRACKET_MAX_ITER: usize = 10;
const ZOOM_MAX_ITER: usize = 10;

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// max |a_i|, NaN if any entry is NaN.
pub(crate) fn inf_norm(a: &[f64]) -> f64 {
    let mut m: f64 = 0.0;
    for v in a {
        if v.is_nan() {
            return f64::NAN;
        }
        m = m.max(v.abs());
    }
    m
}

/// `min(a, b)` with Python's rule: `a` unless `b < a` (so a NaN `b` is ignored).
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// `max(a, b)` with Python's rule: `a` unless `b > a`.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Clamp that propagates NaN (numpy's `clip`).
fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    if x.is_nan() { x } else { x.max(lo).min(hi) }
}

/// −1, 0 or 1 (NaN for NaN), numpy's `sign`.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x * 0.0
    }
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
    let mut evaluations = 1;
    let mut f_prev = f + dot(&g, &g).sqrt() / 2.0;
    let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut d_next = vec![0.0; n];
    let mut x_trial = vec![0.0; n];
    let mut g_trial = vec![0.0; n];
    let mut g_norm = inf_norm(&g);
    let mut iterations = 0;
    let mut failed = false;
    while g_norm > options.gtol && iterations < options.max_iter {
        let gg = dot(&g, &g);
        // The PR+ direction from the gradient at a trial step, and whether to accept the step.
        let accept = |g_new: &[f64], d_next: &mut [f64]| {
            next_direction(&g, g_new, gg, &d, d_next);
            inf_norm(g_new) <= options.gtol || dot(d_next, g_new) <= -SIGMA3 * dot(g_new, g_new)
        };
        let mut line = Line {
            fg: &mut fg,
            x,
            d: &d,
            x_trial: &mut x_trial,
            g_trial: &mut g_trial,
            evaluations: &mut evaluations,
        };
        let slope = dot(&g, &d);
        let first = first_step(f, f_prev, slope);
        let step = match line.more_thuente(f, slope, first) {
            Some(step) if accept(line.g_trial, &mut d_next) => Some(step),
            _ => line.bracket_and_zoom(f, slope, first, &mut |g_new| accept(g_new, &mut d_next)),
        };
        let Some((alpha, f_new)) = step else {
            failed = true;
            break;
        };
        // `g_trial` holds ∇f at the accepted step.
        next_direction(&g, &g_trial, gg, &d, &mut d_next);
        x.iter_mut().zip(&d).for_each(|(x, d)| *x += alpha * d);
        std::mem::swap(&mut d, &mut d_next);
        g.copy_from_slice(&g_trial);
        g_norm = inf_norm(&g);
        f_prev = f;
        f = f_new;
        iterations += 1;
    }
    let status = if failed {
        CgStatus::LineSearchFailed
    } else if iterations >= options.max_iter {
        CgStatus::MaxIterations
    } else if g_norm.is_nan() || f.is_nan() || x.iter().any(|v| v.is_nan()) {
        CgStatus::NotFinite
    } else {
        CgStatus::Converged
    };
    CgOutcome {
        iterations,
        evaluations,
        status,
    }
}

/// d_next = −g_new + β d with β = max(0, (g_new − g)·g_new / gg).
fn next_direction(g: &[f64], g_new: &[f64], gg: f64, d: &[f64], d_next: &mut [f64]) {
    let y_dot_g: f64 = g_new.iter().zip(g).map(|(a, b)| (a - b) * a).sum();
    let beta = py_max(0.0, y_dot_g / gg);
    for ((out, g), d) in d_next.iter_mut().zip(g_new).zip(d) {
        *out = -g + beta * d;
    }
}

/// The first trial step: the step that would repeat the last decrease along a quadratic model
/// (N&W eq. 3.60), at most 1; 1 when that is negative or undefined.
fn first_step(f: f64, f_prev: f64, slope: f64) -> f64 {
    if slope == 0.0 {
        return 1.0;
    }
    let step = py_min(1.0, 1.01 * 2.0 * (f - f_prev) / slope);
    if step < 0.0 { 1.0 } else { step }
}

/// The line x + αd: evaluations leave ∇f(x + αd) in `g_trial`.
struct Line<'a, F> {
    fg: &'a mut F,
    x: &'a [f64],
    d: &'a [f64],
    x_trial: &'a mut [f64],
    g_trial: &'a mut [f64],
    evaluations: &'a mut usize,
}

impl<F> Line<'_, F>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    /// φ(α) = f(x + αd) and φ'(α).
    fn eval(&mut self, alpha: f64) -> (f64, f64) {
        for ((xt, x), d) in self.x_trial.iter_mut().zip(self.x).zip(self.d) {
            *xt = x + alpha * d;
        }
        *self.evaluations += 1;
        let f = (self.fg)(self.x_trial, self.g_trial);
        (f, dot(self.g_trial, self.d))
    }

    /// Moré–Thuente: a step satisfying the strong Wolfe conditions as (α, φ(α)), `None` if the
    /// search ends in a warning or error.
    fn more_thuente(&mut self, f0: f64, slope0: f64, first: f64) -> Option<(f64, f64)> {
        let mut search = MoreThuente::start(Wolfe::CG, first, f0, slope0)?;
        let mut stp = first;
        for trial in 1..=MORE_THUENTE_MAX_TRIALS {
            let (f, g) = self.eval(stp);
            if trial == MORE_THUENTE_MAX_TRIALS {
                // scipy counts the start as one of its 100 rounds: the last trial is not used.
                break;
            }
            match search.next(stp, f, g) {
                Next::Converged => return Some((stp, f)),
                Next::Warning => return None,
                Next::Try(next) if next.is_finite() => stp = next,
                Next::Try(_) => return None,
            }
        }
        None
    }

    /// N&W Algorithm 3.5 with `accept` as an extra test of the gradient at a Wolfe step.
    fn bracket_and_zoom(
        &mut self,
        f0: f64,
        slope0: f64,
        first: f64,
        accept: &mut dyn FnMut(&[f64]) -> bool,
    ) -> Option<(f64, f64)> {
        let mut a0 = 0.0;
        let mut a1 = py_min(first, STEP_MAX);
        let (mut phi1, mut dphi1) = self.eval(a1);
        let (mut phi0, mut dphi0) = (f0, slope0);
        for i in 0..BRACKET_MAX_ITER {
            if a1 == 0.0 || a0 > STEP_MAX {
                return None;
            }
            if phi1 > f0 + C1 * a1 * slope0 || (phi1 >= phi0 && i > 0) {
                let lo = Point::new(a0, phi0, dphi0);
                return self.zoom(lo, a1, phi1, f0, slope0, accept);
            }
            if dphi1.abs() <= -C2 * slope0 && accept(self.g_trial) {
                return Some((a1, phi1));
            }
            if dphi1 >= 0.0 {
                let lo = Point::new(a1, phi1, dphi1);
                return self.zoom(lo, a0, phi0, f0, slope0, accept);
            }
            let a2 = py_min(2.0 * a1, STEP_MAX);
            a0 = a1;
            a1 = a2;
            phi0 = phi1;
            dphi0 = dphi1;
            (phi1, dphi1) = self.eval(a1);
        }
        // Out of doublings: scipy returns the last step unchecked (its gradient is in g_trial).
        Some((a1, phi1))
    }

    /// N&W Algorithm 3.6: `lo` satisfies sufficient decrease with the lowest φ so far; the
    /// interval between `lo` and `hi` contains a Wolfe step. The trial step is the minimiser
    /// of the cubic through lo, hi and the previous endpoint, else of the quadratic through lo
    /// and hi, else the midpoint, rejecting interpolants too close to the ends.
    fn zoom(
        &mut self,
        mut lo: Point,
        mut a_hi: f64,
        mut phi_hi: f64,
        f0: f64,
        slope0: f64,
        accept: &mut dyn FnMut(&[f64]) -> bool,
    ) -> Option<(f64, f64)> {
        let (mut a_rec, mut phi_rec) = (0.0, f0);
        for i in 0..=ZOOM_MAX_ITER {
            // Signed on purpose: scipy's closeness margins use the signed interval length.
            let width = a_hi - lo.alpha;
            let (a, b) = if width < 0.0 {
                (a_hi, lo.alpha)
            } else {
                (lo.alpha, a_hi)
            };
            let too_close = |t: f64, margin: f64| t > b - margin || t < a + margin;
            let cubic = if i > 0 {
                cubic_min(lo, a_hi, phi_hi, a_rec, phi_rec).filter(|&t| !too_close(t, 0.2 * width))
            } else {
                None
            };
            let a_j = cubic
                .or_else(|| quadratic_min(lo, a_hi, phi_hi).filter(|&t| !too_close(t, 0.1 * width)))
                .unwrap_or(lo.alpha + 0.5 * width);
            let (phi_j, dphi_j) = self.eval(a_j);
            if phi_j > f0 + C1 * a_j * slope0 || phi_j >= lo.f {
                (a_rec, phi_rec) = (a_hi, phi_hi);
                (a_hi, phi_hi) = (a_j, phi_j);
            } else {
                if dphi_j.abs() <= -C2 * slope0 && accept(self.g_trial) {
                    return Some((a_j, phi_j));
                }
                if dphi_j * (a_hi - lo.alpha) >= 0.0 {
                    (a_rec, phi_rec) = (a_hi, phi_hi);
                    (a_hi, phi_hi) = (lo.alpha, lo.f);
                } else {
                    (a_rec, phi_rec) = (lo.alpha, lo.f);
                }
                lo = Point::new(a_j, phi_j, dphi_j);
            }
        }
        None
    }
}

/// A step with φ and φ'.
#[derive(Clone, Copy)]
struct Point {
    alpha: f64,
    f: f64,
    slope: f64,
}

impl Point {
    fn new(alpha: f64, f: f64, slope: f64) -> Self {
        Self { alpha, f, slope }
    }
}

/// Minimiser of the cubic through (lo.alpha, lo.f) with slope lo.slope, (b, fb) and (c, fc).
fn cubic_min(lo: Point, b: f64, fb: f64, c: f64, fc: f64) -> Option<f64> {
    let (a, fa, slope) = (lo.alpha, lo.f, lo.slope);
    let db = b - a;
    let dc = c - a;
    let denom = (db * dc) * (db * dc) * (db - dc);
    let rb = fb - fa - slope * db;
    let rc = fc - fa - slope * dc;
    let ca = (dc * dc * rb + -(db * db) * rc) / denom;
    let cb = (-dc.powf(3.0) * rb + db.powf(3.0) * rc) / denom;
    let radical = cb * cb - 3.0 * ca * slope;
    let t = a + (-cb + radical.sqrt()) / (3.0 * ca);
    [db, dc, denom, rb, rc, ca, cb, radical, t]
        .iter()
        .all(|v| v.is_finite())
        .then_some(t)
}

/// Minimiser of the quadratic through (lo.alpha, lo.f) with slope lo.slope and (b, fb).
fn quadratic_min(lo: Point, b: f64, fb: f64) -> Option<f64> {
    let db = b - lo.alpha;
    let curvature = (fb - lo.f - lo.slope * db) / (db * db);
    let t = lo.alpha - lo.slope / (2.0 * curvature);
    [db, curvature, t]
        .iter()
        .all(|v| v.is_finite())
        .then_some(t)
}

/// What the Moré–Thuente search asks for after a trial.
pub(crate) enum Next {
    Try(f64),
    Converged,
    Warning,
}

/// State of the Moré–Thuente line search (MINPACK-2 `dcsrch`): an interval [stx, sty] (in
/// either order) known to contain a step satisfying sufficient decrease and curvature, with
/// the function values/slopes at its ends; stx is the best step so far.
pub(crate) struct MoreThuente {
    wolfe: Wolfe,
    finit: f64,
    ginit: f64,
    gtest: f64,
    bracketed: bool,
    /// Stage 1 works on ψ(α) = φ(α) − φ(0) − c₁αφ'(0) until a step with ψ ≤ 0, φ' ≥ 0 is seen.
    stage1: bool,
    width: f64,
    width1: f64,
    stx: Side,
    sty: Side,
    stmin: f64,
    stmax: f64,
}

/// An interval end: step, value, derivative.
#[derive(Clone, Copy)]
struct Side {
    st: f64,
    f: f64,
    g: f64,
}

const XTRAP_LOWER: f64 = 1.1;
const XTRAP_UPPER: f64 = 4.0;

impl MoreThuente {
    /// `None` for invalid input (first step outside [step_min, step_max] or φ'(0) ≥ 0).
    pub(crate) fn start(wolfe: Wolfe, stp: f64, f0: f64, g0: f64) -> Option<Self> {
        if !(wolfe.step_min..=wolfe.step_max).contains(&stp) || g0 >= 0.0 {
            return None;
        }
        let width = wolfe.step_max - wolfe.step_min;
        let origin = Side {
            st: 0.0,
            f: f0,
            g: g0,
        };
        Some(Self {
            wolfe,
            finit: f0,
            ginit: g0,
            gtest: wolfe.c1 * g0,
            bracketed: false,
            stage1: true,
            width,
            width1: width / 0.5,
            stx: origin,
            sty: origin,
            stmin: 0.0,
            stmax: stp + XTRAP_UPPER * stp,
        })
    }

    /// Takes φ(stp) = f and φ'(stp) = g and decides.
    pub(crate) fn next(&mut self, stp: f64, f: f64, g: f64) -> Next {
        let Wolfe {
            c2,
            xtol,
            step_min,
            step_max,
            c_semantics,
            ..
        } = self.wolfe;
        let mm = MinMax { c: c_semantics };
        let ftest = self.finit + stp * self.gtest;
        if self.stage1 && f <= ftest && g >= 0.0 {
            self.stage1 = false;
        }
        if f <= ftest && g.abs() <= c2 * -self.ginit {
            return Next::Converged;
        }
        let warning = (self.bracketed
            && (stp <= self.stmin
                || stp >= self.stmax
                || self.stmax - self.stmin <= xtol * self.stmax))
            || (stp == step_max && f <= ftest && g <= self.gtest)
            || (stp == step_min && (f > ftest || g >= self.gtest));
        if warning {
            return Next::Warning;
        }

        let trial = Side { st: stp, f, g };
        let mut stp = if self.stage1 && f <= self.stx.f && f > ftest {
            // Work on ψ: shift values and slopes by the sufficient-decrease line.
            let gtest = self.gtest;
            let to_psi = |s: Side| Side {
                st: s.st,
                f: s.f - s.st * gtest,
                g: s.g - gtest,
            };
            let from_psi = |s: Side| Side {
                st: s.st,
                f: s.f + s.st * gtest,
                g: s.g + gtest,
            };
            let (mut x, mut y) = (to_psi(self.stx), to_psi(self.sty));
            let next = step(
                &mut x,
                &mut y,
                to_psi(trial),
                &mut self.bracketed,
                self.stmin,
                self.stmax,
                mm,
            );
            self.stx = from_psi(x);
            self.sty = from_psi(y);
            next
        } else {
            step(
                &mut self.stx,
                &mut self.sty,
                trial,
                &mut self.bracketed,
                self.stmin,
                self.stmax,
                mm,
            )
        };

        let (stx, sty) = (self.stx.st, self.sty.st);
        if self.bracketed {
            // Force sufficient shrinking of the interval: bisect if two steps did not.
            if (sty - stx).abs() >= 0.66 * self.width1 {
                stp = stx + 0.5 * (sty - stx);
            }
            self.width1 = self.width;
            self.width = (sty - stx).abs();
            self.stmin = mm.min(stx, sty);
            self.stmax = mm.max(stx, sty);
        } else {
            self.stmin = stp + XTRAP_LOWER * (stp - stx);
            self.stmax = stp + XTRAP_UPPER * (stp - stx);
        }
        stp = if mm.c {
            stp.max(step_min).min(step_max)
        } else {
            clip(stp, step_min, step_max)
        };
        if self.bracketed
            && (stp <= self.stmin
                || stp >= self.stmax
                || self.stmax - self.stmin <= xtol * self.stmax)
        {
            stp = stx;
        }
        Next::Try(stp)
    }
}

/// Cubic interpolation through two points with values and slopes: the minimiser's step
/// relative to `from`, as `from + r·(to − from)`, with θ, γ in Moré–Thuente's notation.
fn cubic_ratio(theta: f64, gamma: f64, d_from: f64, d_to: f64) -> f64 {
    let p = (gamma - d_from) + theta;
    let q = ((gamma - d_from) + gamma) + d_to;
    p / q
}

/// θ of the cubic through the end `a` and the trial `t`, and the scale s and discriminant
/// (θ/s)² − (a'/s)(t'/s) whose root is γ/s (Moré–Thuente's notation; s guards against
/// overflow).
fn cubic_terms(a: Side, t: Side, mm: MinMax) -> (f64, f64, f64) {
    let theta = 3.0 * (a.f - t.f) / (t.st - a.st) + a.g + t.g;
    let s = mm.max(mm.max(theta.abs(), a.g.abs()), t.g.abs());
    (theta, s, (theta / s) * (theta / s) - (a.g / s) * (t.g / s))
}

/// The minimiser of the cubic through the end `a` and the trial `t`, measured from `a`
/// toward `t` (`from_end`) or from `t` toward `a`.
fn cubic_minimiser(a: Side, t: Side, from_end: bool, mm: MinMax) -> f64 {
    let (theta, s, disc) = cubic_terms(a, t, mm);
    let (from, to) = if from_end { (a, t) } else { (t, a) };
    let mut gamma = s * disc.sqrt();
    if to.st < from.st {
        gamma = -gamma;
    }
    let r = cubic_ratio(theta, gamma, from.g, to.g);
    from.st + r * (to.st - from.st)
}

/// The safeguarded trial step of Moré–Thuente (MINPACK-2 `dcstep`): updates the interval
/// ends `x` (best step) and `y` with the trial `t`, and returns the next step. The four cases
/// of the paper: higher value; slopes of opposite sign; same sign and decreasing magnitude;
/// same sign and not decreasing.
fn step(
    x: &mut Side,
    y: &mut Side,
    t: Side,
    bracketed: &mut bool,
    stpmin: f64,
    stpmax: f64,
    mm: MinMax,
) -> f64 {
    let sgnd = sign(t.g) * sign(x.g);
    let next = if t.f > x.f {
        let stpc = cubic_minimiser(*x, t, true, mm);
        let stpq = x.st + ((x.g / ((x.f - t.f) / (t.st - x.st) + x.g)) / 2.0) * (t.st - x.st);
        *bracketed = true;
        let cubic_closer = if mm.c {
            (stpc - x.st).abs() < (stpq - x.st).abs()
        } else {
            (stpc - x.st).abs() <= (stpq - x.st).abs()
        };
        if cubic_closer {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        }
    } else if sgnd < 0.0 {
        let stpc = cubic_minimiser(*x, t, false, mm);
        let stpq = t.st + (t.g / (t.g - x.g)) * (x.st - t.st);
        *bracketed = true;
        if (stpc - t.st).abs() > (stpq - t.st).abs() {
            stpc
        } else {
            stpq
        }
    } else if t.g.abs() < x.g.abs() {
        let (theta, s, disc) = cubic_terms(*x, t, mm);
        // The cubic may have no minimiser here; γ = 0 then.
        let mut gamma = s * mm.max(0.0, disc).sqrt();
        if t.st > x.st {
            gamma = -gamma;
        }
        let p = (gamma - t.g) + theta;
        let q = (gamma + (x.g - t.g)) + gamma;
        let r = p / q;
        let stpc = if r < 0.0 && gamma != 0.0 {
            t.st + r * (x.st - t.st)
        } else if t.st > x.st {
            stpmax
        } else {
            stpmin
        };
        let stpq = t.st + (t.g / (t.g - x.g)) * (x.st - t.st);
        if *bracketed {
            let stpf = if (stpc - t.st).abs() < (stpq - t.st).abs() {
                stpc
            } else {
                stpq
            };
            let limit = t.st + 0.66 * (y.st - t.st);
            if t.st > x.st {
                mm.min(limit, stpf)
            } else {
                mm.max(limit, stpf)
            }
        } else {
            let stpf = if (stpc - t.st).abs() > (stpq - t.st).abs() {
                stpc
            } else {
                stpq
            };
            if mm.c {
                stpmin.max(stpmax.min(stpf))
            } else {
                clip(stpf, stpmin, stpmax)
            }
        }
    } else if *bracketed {
        // θ from (y.f − t.f)/(t.st − y.st): both signs flipped from MINPACK's order, the same
        // number.
        cubic_minimiser(*y, t, false, mm)
    } else if t.st > x.st {
        stpmax
    } else {
        stpmin
    };

    if t.f > x.f {
        *y = t;
    } else {
        if sgnd < 0.0 {
            *y = *x;
        }
        *x = t;
    }
    next
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
        assert_eq!(out.status, CgStatus::Converged, "{out:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn takes_scipys_steps_on_rosenbrock() {
        // scipy 1.17.1: minimize(rosen, [-1.2, 1], jac=rosen_der, method="CG",
        // options={"gtol": g, "maxiter": m}) → nit, nfev, status, x.
        let cases = [
            (
                1e-8,
                2000,
                37,
                80,
                CgStatus::Converged,
                [1.000000000055709, 1.0000000001116387],
            ),
            (
                1e-2,
                25,
                25,
                58,
                CgStatus::MaxIterations,
                [0.9956689342566507, 0.991183623964198],
            ),
        ];
        for (gtol, max_iter, iterations, evaluations, status, expected) in cases {
            let mut x = [-1.2, 1.0];
            let out = minimize_cg(rosenbrock, &mut x, CgOptions { max_iter, gtol });
            assert_eq!(
                (out.iterations, out.evaluations, out.status),
                (iterations, evaluations, status)
            );
            for (x, e) in x.iter().zip(expected) {
                assert!((x - e).abs() < 1e-12, "{x} vs {e}");
            }
        }
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
        // scipy 1.17.1 on the same problem: 6 iterations, 13 function evaluations.
        assert_eq!(
            (out.status, out.iterations, out.evaluations),
            (CgStatus::Converged, 6, 13)
        );
        for (i, x) in x.iter().enumerate() {
            assert!((x - (i + 1) as f64).abs() < 1e-8);
        }
    }

    #[test]
    fn survives_non_finite_values() {
        // ln barrier: f = x − ln x is +∞/NaN for x ≤ 0; minimum at x = 1.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / x[0];
            let f = x[0] - x[0].ln();
            if f.is_nan() { f64::INFINITY } else { f }
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
        assert_eq!(out.status, CgStatus::Converged, "{out:?} {x:?}");
        assert!((x[0] - 1.0).abs() < 1e-8);
    }
}
