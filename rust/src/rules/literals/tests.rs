use super::{haystack, required, Prefilter};
use crate::rules::pyre::parse;

fn sets(pattern: &str, ignore_case: bool) -> Vec<Vec<String>> {
    required(&parse(pattern, ignore_case).unwrap())
}

fn set(strings: &[&str]) -> Vec<String> {
    let mut set: Vec<String> = strings.iter().map(|s| (*s).to_string()).collect();
    set.sort();
    set
}

#[test]
fn required_strings_of_shipped_patterns() {
    assert_eq!(
        sets(r"ignore\s+(all\s+)?(previous|prior)\s+(instructions?|rules?)", true),
        vec![
            set(&["ignore"]),
            set(&["previous", "prior"]),
            set(&["instruction", "rule"])
        ]
    );
    assert_eq!(
        sets(r"you\s+are\s+(now\s+)?DAN\b", true),
        vec![set(&["you"]), set(&["are"]), set(&["dan"])],
        "three strings of three bytes, all required"
    );
    assert_eq!(sets(r"\b(do|does)\s+anything\s+now\b", true)[0], set(&["anything"]));
    assert_eq!(
        sets(r"\[\/?(system|SYSTEM)\]|<\/?(system)\s*>", true),
        vec![set(&["</system", "<system", "[/system]", "[system]"])]
    );
    assert_eq!(
        sets(r"0x[0-9a-fA-F]{2}(\s*,?\s*0x[0-9a-fA-F]{2}){5,}", false),
        vec![set(&["0x"])]
    );
    assert_eq!(sets(r"[1!][gG9]n", true), vec![set(&["!9n", "!gn", "19n", "1gn"])]);
    assert_eq!(sets(r"[\u0430\u0435]{3,}", false), vec![set(&["\u{430}", "\u{435}"])]);
    assert_eq!(sets(r"\u0430\u0435", false), vec![set(&["\u{430}\u{435}"])]);
    assert!(
        sets(r"\u0430\u0435", true).is_empty(),
        "a folded non-ASCII character cuts"
    );
    assert!(
        sets(r"\u0130x", false).is_empty(),
        "a case-sensitive İ is not in the haystack"
    );
    assert_eq!(sets(r"instructions?", true), vec![set(&["instruction"])]);
    assert!(sets(r"a.b", false).is_empty());
    assert!(sets(r"x|\d", false).is_empty());
    assert!(sets(r"(ab)*c", false).is_empty());
    assert_eq!(sets(r"(ab)+cd", false), vec![set(&["ab"]), set(&["cd"])]);
    assert_eq!(sets(r"ab$", false), vec![set(&["ab"])]);
    assert!(sets(r"[^a]bc|d", false).is_empty(), "a branch without strings");
}

#[test]
fn the_haystack_folds_like_the_patterns() {
    assert_eq!(haystack("Plain"), "plain");
    assert_eq!(
        haystack("\u{130}GNORE \u{131} \u{212A} \u{17F} — É"),
        "ignore i k s — É"
    );
}

#[test]
fn prefilter_admits_the_matchers_whose_sets_are_all_there() {
    let filters = vec![
        vec![set(&["ignore"]), set(&["previous", "prior"])],
        Vec::new(),
        vec![set(&["kiss", "zz"])],
        vec![set(&["you"]), set(&["dan"])],
        vec![set(&["instruction", "instructions", "in"])],
    ];
    let prefilter = Prefilter::new(&filters);
    let search = |text: &str| prefilter.search(&[text]).remove(0);
    assert_eq!(
        search("\u{130}GNORE PRIOR \u{212A}I\u{17F}S"),
        vec![true, true, true, false, false]
    );
    assert_eq!(search("ignore this"), vec![false, true, false, false, false]);
    assert_eq!(search("you are dan"), vec![false, true, false, true, false]);
    assert_eq!(
        search("dan, are you"),
        vec![false, true, false, true, false],
        "any order"
    );
    assert_eq!(
        search("instructions"),
        vec![false, true, false, false, true],
        "longest and prefixes"
    );
}

#[test]
fn prefilter_with_many_strings() {
    // More strings than one searcher holds; every one found alone.
    let words: Vec<String> = (0..100).map(|i| format!("w{i:03}x")).collect();
    let filters: Vec<Vec<Vec<String>>> = words.iter().map(|w| vec![vec![w.clone()]]).collect();
    let prefilter = Prefilter::new(&filters);
    for (i, word) in words.iter().enumerate() {
        let found = prefilter
            .search(&[&format!("some text {} more", word.to_uppercase())])
            .remove(0);
        assert_eq!(found.iter().filter(|&&f| f).count(), 1, "{word}");
        assert!(found[i]);
    }
}

#[test]
fn prefilter_searches_several_texts_at_once_each_on_its_own() {
    let filters = vec![
        vec![set(&["ignore"]), set(&["previous", "prior"])],
        vec![set(&["you"]), set(&["dan"])],
        vec![set(&["w050x"])],
    ];
    let prefilter = Prefilter::new(&filters);
    let long = format!("{} you are DAN", "x".repeat(3000));
    let found = prefilter.search(&["ignore", "prior", "", &long, "IGNORE prior", "w050", "x you"]);
    assert_eq!(
        found,
        vec![
            vec![false, false, false], // a set missing here is no help from the next text
            vec![false, false, false],
            vec![false, false, false],
            vec![false, true, false],
            vec![true, false, false],
            vec![false, false, false], // "w050" then "x" of the next: a candidate at most
            vec![false, false, false],
        ]
    );
    // The same string in every text, found in each (the search moves on once a group is
    // complete in a text).
    let texts = vec!["you dan you dan"; 40];
    assert!(prefilter.search(&texts).iter().all(|f| f == &vec![false, true, false]));
}
