//! Sentence GLEU (Wu et al. 2016, as nltk's `sentence_gleu` with n-grams of 1 to 4 tokens)
//! between precomputed token sequences.
//!
//! GLEU(ref, hyp) = tp / max(#n-grams of hyp, #n-grams of ref), tp = Σ over n-grams of
//! min(count in ref, count in hyp); 0 when both are empty. Tokens are interned to ids so that
//! the n-gram multisets are sorted vectors, intersected by a merge.

use rustc_hash::FxHashMap;

/// An n-gram of at most 4 token ids, unused slots `u32::MAX`.
type Gram = [u32; 4];

/// The multiset of 1- to 4-grams of a sequence: sorted (gram, count) pairs and the total.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grams {
    counts: Vec<(Gram, u32)>,
    total: u64,
}

impl Grams {
    pub(crate) fn of(tokens: &[u32]) -> Self {
        let mut grams: Vec<Gram> = Vec::with_capacity(tokens.len() * 4);
        for start in 0..tokens.len() {
            let mut gram = [u32::MAX; 4];
            for n in 0..4.min(tokens.len() - start) {
                gram[n] = tokens[start + n];
                grams.push(gram);
            }
        }
        let total = grams.len() as u64;
        grams.sort_unstable();
        let mut counts: Vec<(Gram, u32)> = Vec::new();
        for gram in grams {
            match counts.last_mut() {
                Some((last, count)) if *last == gram => *count += 1,
                _ => counts.push((gram, 1)),
            }
        }
        Self { counts, total }
    }
}

/// nltk's `sentence_gleu([reference], hypothesis)`.
pub(crate) fn gleu(reference: &Grams, hypothesis: &Grams) -> f64 {
    let n_all = reference.total.max(hypothesis.total);
    if n_all == 0 {
        return 0.0;
    }
    let (mut i, mut j, mut tp) = (0, 0, 0u64);
    let (a, b) = (&reference.counts, &hypothesis.counts);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                tp += u64::from(a[i].1.min(b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    tp as f64 / n_all as f64
}

/// Python's `str.isspace` (what `str.split()` splits on): Unicode White_Space plus the
/// information separators U+001C–U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()`: runs of whitespace separate, no empty tokens.
pub(crate) fn python_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_python_space).filter(|t| !t.is_empty())
}

/// Interns tokens (words or single characters) to ids.
#[derive(Default)]
pub(crate) struct Symbols<'a> {
    ids: FxHashMap<&'a str, u32>,
}

impl<'a> Symbols<'a> {
    pub(crate) fn id(&mut self, token: &'a str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(token).or_insert(next)
    }

    /// The ids of `text`'s words (Python's `str.split()`).
    pub(crate) fn words(&mut self, text: &'a str) -> Vec<u32> {
        python_split(text).map(|w| self.id(w)).collect()
    }

    /// The ids of `text`'s characters, each as a one-character token.
    pub(crate) fn chars(&mut self, text: &'a str) -> Vec<u32> {
        text.char_indices()
            .map(|(i, c)| self.id(&text[i..i + c.len_utf8()]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_nltk() {
        // Values printed by nltk 3.10.4: sentence_gleu([ref.split()], hyp).
        let mut s = Symbols::default();
        let ia = Grams::of(&s.words("i a"));
        let ia_chars = Grams::of(&s.chars("i a"));
        assert_eq!(gleu(&ia, &ia_chars), 2.0 / 6.0);
        let hw = Grams::of(&s.words("hello world"));
        let hw_chars = Grams::of(&s.chars("hello world"));
        assert_eq!(gleu(&hw, &hw_chars), 0.0);
        let abc = Grams::of(&s.words("a b c"));
        let abc_chars = Grams::of(&s.chars("abc"));
        assert_eq!(gleu(&abc, &abc_chars), 1.0);
        assert_eq!(gleu(&Grams::of(&[]), &Grams::of(&[])), 0.0);
        assert_eq!(
            python_split(" a\u{1f}b  c ").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
