//! A VADER scorer (Hutto & Gilbert, ICWSM-14; the rules of vaderSentiment
//! 3.3.2) over VADER's own lexicon extended with finance terms. Pure: no I/O,
//! the tables are compiled in.
//!
//! Rules: lexicon valence per token; boosters and dampeners in the three
//! tokens before a word (0.293, decaying 1 / 0.95 / 0.9), ALL-CAPS emphasis
//! (0.733) when the text is not all caps; negation in the three tokens before
//! (×-0.74), "no" and "least"; idioms; "but" (before ×0.5, after ×1.5); up to
//! four `!` (0.292 each) and `?`; compound = x / √(x² + 15).
//!
//! Finance extension (`data/finance_lexicon.tsv`): single words override or
//! add to VADER's valences ("miss" is -1.5 here, "beat" +1.5); phrases of two
//! or three words ("guidance cut", "beats estimates") are joined into one
//! token before scoring, so negation, boosters and "but" apply to them too.
//! `vaderSentiment` has no emoji translation here (headlines have none).

use std::collections::HashMap;

use bus::api::sentiment::Scores;

const VADER_LEXICON: &str = include_str!("../data/vader_lexicon.txt");
const VADER_RULES: &str = include_str!("../data/rules_tables.tsv");
const FINANCE_LEXICON: &str = include_str!("../data/finance_lexicon.tsv");

const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;
const ALPHA: f64 = 15.0;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// The loaded tables; build once, score many texts.
pub struct Analyzer {
    lexicon: HashMap<String, f64>,
    boosters: HashMap<String, f64>,
    idioms: HashMap<String, f64>,
    /// Finance phrases by their first word: (words, joined key).
    phrases: HashMap<String, Vec<(Vec<String>, String)>>,
    version: String,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    pub fn new() -> Self {
        let mut lexicon = HashMap::new();
        for line in VADER_LEXICON.lines() {
            let mut cols = line.split('\t');
            if let (Some(word), Some(v)) = (cols.next(), cols.next()) {
                if let Ok(v) = v.trim().parse::<f64>() {
                    lexicon.insert(word.to_string(), v);
                }
            }
        }
        let (mut boosters, mut idioms) = (HashMap::new(), HashMap::new());
        for line in VADER_RULES.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            if let [kind, key, value] = cols[..] {
                let Ok(v) = value.trim().parse::<f64>() else {
                    continue;
                };
                match kind {
                    "booster" => boosters.insert(key.to_string(), v),
                    "special" => idioms.insert(key.to_string(), v),
                    _ => None,
                };
            }
        }
        let mut phrases: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
        for (term, v) in finance_terms() {
            if term.contains(' ') {
                let words: Vec<String> = term.split(' ').map(str::to_string).collect();
                phrases
                    .entry(words[0].clone())
                    .or_default()
                    .push((words, term.clone()));
            }
            lexicon.insert(term, v);
        }
        // Longest phrase first, so "cuts full-year guidance" wins over "cuts full-year".
        for list in phrases.values_mut() {
            list.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        }
        let version = format!(
            "{:08x}",
            model::ids::stable_hash64(
                [VADER_LEXICON, VADER_RULES, FINANCE_LEXICON]
                    .concat()
                    .as_bytes()
            ) as u32
        );
        Analyzer {
            lexicon,
            boosters,
            idioms,
            phrases,
            version,
        }
    }

    /// A short hash of the tables: cached scores of another version are not used.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// VADER's scores of `text`: compound rounded to 4 decimals, the shares to 3.
    pub fn score(&self, text: &str) -> Scores {
        let words = self.tokens(text);
        let cap_diff = allcap_differential(&words);
        let mut sentiments = Vec::with_capacity(words.len());
        for (i, item) in words.iter().enumerate() {
            let lower = item.to_lowercase();
            if self.boosters.contains_key(&lower) {
                sentiments.push(0.0);
                continue;
            }
            if lower == "kind" && words.get(i + 1).is_some_and(|w| w.to_lowercase() == "of") {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.valence(&words, i, cap_diff));
        }
        but_check(&words, &mut sentiments);
        score_valence(&sentiments, text)
    }

    /// Whitespace tokens, punctuation stripped from words longer than two
    /// characters (VADER keeps emoticons), finance phrases joined.
    fn tokens(&self, text: &str) -> Vec<String> {
        let raw: Vec<String> = text.split_whitespace().map(strip_punc_if_word).collect();
        let lower: Vec<String> = raw.iter().map(|w| w.to_lowercase()).collect();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let joined = self.phrases.get(&lower[i]).and_then(|list| {
                list.iter().find(|(words, _)| {
                    lower.len() >= i + words.len()
                        && words.iter().zip(&lower[i..]).all(|(a, b)| a == b)
                })
            });
            match joined {
                Some((words, _)) => {
                    out.push(raw[i..i + words.len()].join(" "));
                    i += words.len();
                }
                None => {
                    out.push(raw[i].clone());
                    i += 1;
                }
            }
        }
        out
    }

    fn in_lexicon(&self, word: &str) -> bool {
        self.lexicon.contains_key(&word.to_lowercase())
    }

    fn valence(&self, words: &[String], i: usize, cap_diff: bool) -> f64 {
        let item = &words[i];
        let lower = item.to_lowercase();
        let Some(&base) = self.lexicon.get(&lower) else {
            return 0.0;
        };
        let lw = |k: usize| words[k].to_lowercase();
        let mut valence = base;
        if lower == "no" && i + 1 < words.len() && self.in_lexicon(&words[i + 1]) {
            valence = 0.0;
        }
        if (i > 0 && lw(i - 1) == "no")
            || (i > 1 && lw(i - 2) == "no")
            || (i > 2 && lw(i - 3) == "no" && matches!(lw(i - 1).as_str(), "or" | "nor"))
        {
            valence = base * N_SCALAR;
        }
        if is_upper(item) && cap_diff {
            valence += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i > start && !self.in_lexicon(&words[i - (start + 1)]) {
                let mut s = self.scalar_inc_dec(&words[i - (start + 1)], valence, cap_diff);
                if start == 1 {
                    s *= 0.95;
                } else if start == 2 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, words, start, i);
                if start == 2 {
                    valence = self.idioms_check(valence, words, i);
                }
            }
        }
        self.least_check(valence, words, i)
    }

    fn scalar_inc_dec(&self, word: &str, valence: f64, cap_diff: bool) -> f64 {
        let Some(&b) = self.boosters.get(&word.to_lowercase()) else {
            return 0.0;
        };
        let mut scalar = if valence < 0.0 { -b } else { b };
        if is_upper(word) && cap_diff {
            scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        scalar
    }

    fn idioms_check(&self, mut valence: f64, words: &[String], i: usize) -> f64 {
        let w: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let onezero = format!("{} {}", w[i - 1], w[i]);
        let twoonezero = format!("{} {} {}", w[i - 2], w[i - 1], w[i]);
        let twoone = format!("{} {}", w[i - 2], w[i - 1]);
        let threetwoone = format!("{} {} {}", w[i - 3], w[i - 2], w[i - 1]);
        let threetwo = format!("{} {}", w[i - 3], w[i - 2]);
        for seq in [&onezero, &twoonezero, &twoone, &threetwoone, &threetwo] {
            if let Some(&v) = self.idioms.get(seq.as_str()) {
                valence = v;
                break;
            }
        }
        if w.len() > i + 1 {
            let zeroone = format!("{} {}", w[i], w[i + 1]);
            if let Some(&v) = self.idioms.get(&zeroone) {
                valence = v;
            }
        }
        if w.len() > i + 2 {
            let zeroonetwo = format!("{} {} {}", w[i], w[i + 1], w[i + 2]);
            if let Some(&v) = self.idioms.get(&zeroonetwo) {
                valence = v;
            }
        }
        for seq in [&threetwoone, &threetwo, &twoone] {
            if let Some(&b) = self.boosters.get(seq.as_str()) {
                valence += b;
            }
        }
        valence
    }

    fn least_check(&self, valence: f64, words: &[String], i: usize) -> f64 {
        let lw = |k: usize| words[k].to_lowercase();
        if i > 1 && !self.in_lexicon(&words[i - 1]) && lw(i - 1) == "least" {
            if lw(i - 2) != "at" && lw(i - 2) != "very" {
                return valence * N_SCALAR;
            }
        } else if i > 0 && !self.in_lexicon(&words[i - 1]) && lw(i - 1) == "least" {
            return valence * N_SCALAR;
        }
        valence
    }
}

/// The finance terms of `data/finance_lexicon.tsv`: `term<TAB>valence`, `#` comments.
fn finance_terms() -> Vec<(String, f64)> {
    FINANCE_LEXICON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let term = cols.next()?.trim().to_lowercase();
            let v = cols.next()?.trim().parse::<f64>().ok()?;
            Some((term, v))
        })
        .collect()
}

fn strip_punc_if_word(token: &str) -> String {
    let stripped = token.trim_matches(|c: char| c.is_ascii_punctuation());
    if stripped.chars().count() <= 2 {
        token.to_string()
    } else {
        stripped.to_string()
    }
}

/// Python's `str.isupper()`: at least one cased character and none lowercase.
fn is_upper(word: &str) -> bool {
    word.chars().any(|c| c.is_uppercase()) && !word.chars().any(|c| c.is_lowercase())
}

fn allcap_differential(words: &[String]) -> bool {
    let caps = words.iter().filter(|w| is_upper(w)).count();
    let diff = words.len() - caps;
    diff > 0 && diff < words.len()
}

fn negated(word: &str) -> bool {
    NEGATE.contains(&word) || word.contains("n't")
}

fn negation_check(mut valence: f64, words: &[String], start: usize, i: usize) -> f64 {
    let lw = |k: usize| words[k].to_lowercase();
    match start {
        0 => {
            if negated(&lw(i - 1)) {
                valence *= N_SCALAR;
            }
        }
        1 => {
            if lw(i - 2) == "never" && matches!(lw(i - 1).as_str(), "so" | "this") {
                valence *= 1.25;
            } else if lw(i - 2) == "without" && lw(i - 1) == "doubt" {
            } else if negated(&lw(i - 2)) {
                valence *= N_SCALAR;
            }
        }
        _ => {
            if (lw(i - 3) == "never" && matches!(lw(i - 2).as_str(), "so" | "this"))
                || matches!(lw(i - 1).as_str(), "so" | "this")
            {
                valence *= 1.25;
            } else if lw(i - 3) == "without" && (lw(i - 2) == "doubt" || lw(i - 1) == "doubt") {
            } else if negated(&lw(i - 3)) {
                valence *= N_SCALAR;
            }
        }
    }
    valence
}

/// Words before the first "but" count half, words after it one and a half.
fn but_check(words: &[String], sentiments: &mut [f64]) {
    if let Some(bi) = words.iter().position(|w| w.to_lowercase() == "but") {
        for (si, s) in sentiments.iter_mut().enumerate() {
            if si < bi {
                *s *= 0.5;
            } else if si > bi {
                *s *= 1.5;
            }
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.matches('!').count().min(4) as f64 * 0.292;
    let qm = text.matches('?').count();
    let qm = match qm {
        0 | 1 => 0.0,
        2..=3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep + qm
}

fn normalize(score: f64) -> f64 {
    (score / (score * score + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

fn round_to(v: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (v * m).round() / m
}

fn score_valence(sentiments: &[f64], text: &str) -> Scores {
    if sentiments.is_empty() {
        return Scores {
            compound: 0.0,
            pos: 0.0,
            neu: 0.0,
            neg: 0.0,
        };
    }
    let mut sum: f64 = sentiments.iter().sum();
    let punct = punctuation_emphasis(text);
    if sum > 0.0 {
        sum += punct;
    } else if sum < 0.0 {
        sum -= punct;
    }
    let compound = normalize(sum);
    let (mut pos, mut neg, mut neu) = (0.0, 0.0, 0.0);
    for &s in sentiments {
        if s > 0.0 {
            pos += s + 1.0;
        } else if s < 0.0 {
            neg += s - 1.0;
        } else {
            neu += 1.0;
        }
    }
    if pos > neg.abs() {
        pos += punct;
    } else if pos < neg.abs() {
        neg -= punct;
    }
    let total = pos + neg.abs() + neu;
    Scores {
        compound: round_to(compound, 4),
        pos: round_to((pos / total).abs(), 3),
        neu: round_to((neu / total).abs(), 3),
        neg: round_to((neg / total).abs(), 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> Analyzer {
        Analyzer::new()
    }

    /// vaderSentiment 3.3.2's README examples (compound), which carry no
    /// finance term: the base rules and lexicon hold.
    #[test]
    fn vader_reference_examples() {
        let a = a();
        for (text, compound) in [
            ("VADER is smart, handsome, and funny.", 0.8316),
            ("VADER is smart, handsome, and funny!", 0.8439),
            ("VADER is very smart, handsome, and funny.", 0.8545),
            ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
            ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
            ("VADER is not smart, handsome, nor funny.", -0.7424),
            ("The book was good.", 0.4404),
            ("At least it isn't a horrible book.", 0.431),
            ("The book was only kind of good.", 0.3832),
            (
                "The plot was good, but the characters are uncompelling and the dialog is not great.",
                -0.7042,
            ),
            ("Today SUX!", -0.5461),
            ("Make sure you :) or :D today!", 0.8633),
            ("Not bad at all", 0.431),
        ] {
            assert_eq!(a.score(text).compound, compound, "{text}");
        }
    }

    #[test]
    fn shares_sum_to_one_and_empty_is_zero() {
        let a = a();
        let s = a.score("Shares plunge after profit warning");
        assert!((s.pos + s.neu + s.neg - 1.0).abs() < 0.002, "{s:?}");
        assert_eq!(a.score("").compound, 0.0);
        assert_eq!(a.score("   ").neu, 0.0);
    }

    #[test]
    fn finance_phrases_are_one_token() {
        let a = a();
        assert_eq!(
            a.tokens("Acme GUIDANCE cut, shares fall"),
            vec!["Acme", "GUIDANCE cut", "shares", "fall"]
        );
        assert!(a.score("Acme guidance cut").compound < 0.0);
        // Negation reaches a phrase too.
        assert!(a.score("Acme did not cut guidance").compound > 0.0);
    }

    #[test]
    fn negation_boosters_and_but() {
        let a = a();
        let beat = a.score("Acme beats estimates").compound;
        assert!(beat > 0.0);
        assert!(a.score("Acme hugely beats estimates").compound > beat);
        assert!(a.score("Acme never beats estimates").compound < 0.0);
        assert!(a.score("Acme beats estimates but guidance cut").compound < 0.0);
    }

    #[test]
    fn version_is_stable() {
        assert_eq!(a().version(), a().version());
        assert_eq!(a().version().len(), 8);
    }
}
