//! ROVER: Recognizer Output Voting Error Reduction.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{TextAggregation, TextAggregator};
use crate::aggregation::{FitReport, Observer, StopReason, fit_task_blocks};
use crate::error::{ParamsError, Result};
use crate::methods::embeddings::python_split;
use crate::texts::TextResponses;

/// How a text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tokenizer {
    /// Runs of whitespace separate tokens, none empty (Python's `text.split()`).
    #[default]
    Whitespace,
    /// Every single space separates tokens, so two spaces in a row or a space at either end
    /// give an empty token (Python's `text.split(" ")`, crowd-kit's tests and docs).
    Space,
    /// One token per character (Python's `list(text)`), for character-level voting.
    Chars,
}

impl Tokenizer {
    /// The tokens of `text`.
    pub fn tokens(self, text: &str) -> Vec<&str> {
        match self {
            Self::Whitespace => python_split(text).collect(),
            Self::Space => text.split(' ').collect(),
            Self::Chars => text
                .char_indices()
                .map(|(i, c)| &text[i..i + c.len_utf8()])
                .collect(),
        }
    }
}

/// How tokens are joined back into a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Detokenizer {
    /// Joined with one space (`" ".join(tokens)`).
    #[default]
    Space,
    /// Concatenated (`"".join(tokens)`), the inverse of [`Tokenizer::Chars`].
    Concat,
}

impl Detokenizer {
    /// The text of `tokens`.
    pub fn join(self, tokens: &[&str]) -> String {
        match self {
            Self::Space => tokens.join(" "),
            Self::Concat => tokens.concat(),
        }
    }
}

/// [`Rover`]'s parameters (crowd-kit requires both callables; these default to whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoverParams {
    /// How texts are cut into tokens (default [`Tokenizer::Whitespace`]).
    pub tokenizer: Tokenizer,
    /// How the voted tokens are joined (default [`Detokenizer::Space`]).
    pub detokenizer: Detokenizer,
}

impl RoverParams {
    /// Validates the parameters (every value is valid).
    ///
    /// # Errors
    /// None at present.
    pub fn check(self) -> Result<Rover, ParamsError> {
        Ok(Rover { params: self })
    }
}

/// **ROVER** (crowd-kit `ROVER`): J. G. Fiscus, "A post-processing system to yield reduced
/// word error rates: Recognizer Output Voting Error Reduction (ROVER)", IEEE Workshop on
/// Automatic Speech Recognition and Understanding, 1997, pp. 347–354
/// ([doi:10.1109/ASRU.1997.659110](https://doi.org/10.1109/ASRU.1997.659110)).
///
/// For each task (in task id order), the texts are tokenised and merged, in input order, into
/// a word transition network: a sequence of slots, each a set of candidate tokens with vote
/// counts, seeded with the first text (one vote per token). Each next text i (counting from 0)
/// is aligned to the slots by dynamic programming with costs
///
/// * the token is in the slot (match): 0; substitution: 1;
/// * deletion (the text skips the slot): 0 if the slot already holds the empty token, else 1;
/// * insertion (a token between slots): 1,
///
/// ties broken in the order match/substitution, deletion, insertion. Following the alignment
/// back: a matched or substituted token joins its slot (one vote, or one more vote if present);
/// a deletion adds the empty token to the slot (one vote, or one more); an insertion makes a
/// new slot holding the empty token with i votes (the texts before this one) and the token
/// with one. Each slot then votes for the token of most votes, ties to the longer token (in
/// characters), then to the greater one (code point order); empty winners are dropped and the
/// rest detokenised. Identical to crowd-kit 1.4.2's texts (equal on its tests and on generated
/// data).
///
/// ```
/// use crowdagg::{Rover, TextAggregator, TextResponses};
///
/// let data = TextResponses::from_rows([
///     ("t1", "w1", "a b c d"),
///     ("t1", "w2", "b z d e"),
///     ("t1", "w3", "b c d e f"),
/// ])?;
/// let fit = Rover::default().fit(&data)?;
/// assert_eq!(fit.texts, ["b c d e"]); // crowd-kit's test_rover_aggregation
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rover {
    params: RoverParams,
}

impl Rover {
    /// Default parameters, to adjust and [`check`](RoverParams::check).
    pub fn params() -> RoverParams {
        RoverParams::default()
    }

    /// The validated parameters.
    pub fn parameters(&self) -> &RoverParams {
        &self.params
    }

    /// The voted tokens of one task whose texts, in input order, are already cut into
    /// `hypotheses` (by any tokenizer: the Python package passes the tokens of crowd-kit's
    /// `tokenizer` callable), empty winners dropped: what [`Rover`]'s fit detokenises. No
    /// hypotheses give no tokens.
    pub fn vote<'a, H: AsRef<[&'a str]>>(hypotheses: &[H]) -> Vec<&'a str> {
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut words: Vec<&str> = vec![""];
        ids.insert("", EMPTY);
        let hypotheses: Vec<Vec<u32>> = hypotheses
            .iter()
            .map(|tokens| {
                tokens
                    .as_ref()
                    .iter()
                    .map(|&w| {
                        *ids.entry(w).or_insert_with(|| {
                            words.push(w);
                            words.len() as u32 - 1
                        })
                    })
                    .collect()
            })
            .collect();
        let Some(first) = hypotheses.first() else {
            return Vec::new();
        };
        let mut slots: Vec<Slot> = first.iter().map(|&w| vec![(w, 1)]).collect();
        let (mut cost, mut memo) = (Vec::new(), Vec::new());
        for (i, hyp) in hypotheses.iter().enumerate().skip(1) {
            slots = align(&slots, hyp, i as u32, &mut cost, &mut memo);
        }
        let lengths: Vec<usize> = words.iter().map(|w| w.chars().count()).collect();
        slots
            .iter()
            .map(|slot| {
                let &(best, _) = slot
                    .iter()
                    .max_by(|a, b| {
                        a.1.cmp(&b.1)
                            .then(lengths[a.0 as usize].cmp(&lengths[b.0 as usize]))
                            .then(words[a.0 as usize].cmp(words[b.0 as usize]))
                    })
                    .expect("slots are never empty");
                words[best as usize]
            })
            .filter(|w| !w.is_empty())
            .collect()
    }
}

/// Token id 0 is the empty token.
const EMPTY: u32 = 0;

/// A slot: (token, votes) in insertion order.
type Slot = Vec<(u32, u32)>;

fn add_vote(slot: &mut Slot, token: u32, votes: u32) {
    match slot.iter_mut().find(|(t, _)| *t == token) {
        Some((_, v)) => *v += 1,
        None => slot.push((token, votes)),
    }
}

#[derive(Clone, Copy)]
enum Action {
    Match,
    Deletion,
    Insertion,
}

/// Aligns `hyp` to `slots` and returns the merged network (crowd-kit's `_align`).
fn align(
    slots: &[Slot],
    hyp: &[u32],
    previous: u32,
    cost: &mut Vec<u32>,
    memo: &mut Vec<Action>,
) -> Vec<Slot> {
    let (n, m) = (hyp.len(), slots.len());
    let width = m + 1;
    cost.clear();
    cost.resize((n + 1) * width, 0);
    memo.clear();
    memo.resize((n + 1) * width, Action::Match);
    for j in 0..=m {
        cost[j] = j as u32;
        memo[j] = Action::Deletion;
    }
    for i in 1..=n {
        cost[i * width] = i as u32;
        memo[i * width] = Action::Insertion;
        let word = hyp[i - 1];
        for j in 1..=m {
            let slot = &slots[j - 1];
            let diagonal =
                cost[(i - 1) * width + j - 1] + u32::from(!slot.iter().any(|&(t, _)| t == word));
            let deletion =
                cost[i * width + j - 1] + u32::from(!slot.iter().any(|&(t, _)| t == EMPTY));
            let insertion = cost[(i - 1) * width + j] + 1;
            // min() keeps the first of equal options.
            let (mut best, mut action) = (diagonal, Action::Match);
            if deletion < best {
                (best, action) = (deletion, Action::Deletion);
            }
            if insertion < best {
                (best, action) = (insertion, Action::Insertion);
            }
            cost[i * width + j] = best;
            memo[i * width + j] = action;
        }
    }
    let mut out = Vec::with_capacity(n.max(m) + 1);
    let (mut i, mut j) = (n, m);
    while i != 0 || j != 0 {
        match memo[i * width + j] {
            Action::Match => {
                let mut slot = slots[j - 1].clone();
                add_vote(&mut slot, hyp[i - 1], 1);
                out.push(slot);
                i -= 1;
                j -= 1;
            }
            Action::Deletion => {
                let mut slot = slots[j - 1].clone();
                add_vote(&mut slot, EMPTY, 1);
                out.push(slot);
                j -= 1;
            }
            Action::Insertion => {
                let mut slot = vec![(EMPTY, previous)];
                add_vote(&mut slot, hyp[i - 1], 1);
                out.push(slot);
                i -= 1;
            }
        }
    }
    out.reverse();
    out
}

impl TextAggregator for Rover {
    fn name(&self) -> &'static str {
        "ROVER"
    }

    fn fit_observed(
        &self,
        data: &TextResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<TextAggregation> {
        let p = self.params;
        let (texts, interrupted) = fit_task_blocks(data.n_tasks(), observer, false, |t| {
            let hypotheses: Vec<Vec<&str>> = data
                .task_rows(t)
                .iter()
                .map(|&r| p.tokenizer.tokens(data.text(r as usize)))
                .collect();
            p.detokenizer.join(&Rover::vote(&hypotheses))
        });
        let mut report = FitReport::not_iterative();
        if interrupted {
            report.stop_reason = StopReason::Interrupted;
        }
        Ok(TextAggregation { texts, report })
    }
}

crate::methods::params::params_by_inherent_check!(
    RoverParams => Rover,
);
