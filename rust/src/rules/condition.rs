//! A rule's condition and its evaluation with the keyword results, including
//! nova-hunting's test of whether an unavailable tier (semantics, LLM) could change the
//! result.
//!
//! A condition is a JSON tree: `["const", b]`, `["not", n]`, `["and", n, n, ...]`,
//! `["or", n, n, ...]`, `["var", section, "$name"]` (section `"keywords"`, `"semantics"`,
//! `"llm"`, or null: the name looked up in the keywords, then semantics, then LLM), and
//! `["count", q, section, prefix]` (q `"any"`, `"all"` or at least N true, over a section or,
//! with a prefix, its names starting with `$` and the prefix; section null: the three
//! merged, later ones winning a name). A missing name is false; `all` of nothing is false.

use serde_json::Value;

/// More unknown candidates than this: nova-hunting assumes the tier can change the result.
const MAX_CANDIDATES: usize = 10;
/// Deeper conditions are refused (evaluation recurses).
const MAX_DEPTH: usize = 100;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Section {
    Keywords,
    Semantics,
    Llm,
}

#[derive(Clone, Copy, Debug)]
enum Quantity {
    Any,
    All,
    AtLeast(u64),
}

#[derive(Debug)]
enum Node {
    Const(bool),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Var {
        section: Option<Section>,
        name: String,
        /// The rule's keyword of that name, when it has one.
        keyword: Option<usize>,
    },
    Count {
        quantity: Quantity,
        section: Option<Section>,
        /// `$` and the prefix, or None for the whole section.
        prefix: Option<String>,
        /// The rule's keywords the count covers (for the keywords section or all sections).
        keywords: Vec<usize>,
    },
}

/// A truth assignment of one unknown tier: (name, value).
type Assignment<'a> = [(&'a str, bool)];

/// The keyword results: keyword index (in the rule's order) to its value, found on demand.
pub type Keywords<'k> = dyn FnMut(usize) -> Result<bool, String> + 'k;

/// A rule's condition with what its evaluation needs.
#[derive(Debug)]
pub struct Condition {
    root: Node,
    /// The rule's keyword names, in order: the keys of K.
    names: Vec<String>,
    /// The unknown candidates of a tier, without repeats; None when the rule lacks the tier.
    semantics: Option<Vec<String>>,
    llm: Option<Vec<String>>,
}

impl Condition {
    /// The condition NODE over keywords named `names`; `semantics`/`llm`: the tier's unknown
    /// candidates when the rule has that tier, else None.
    pub fn parse(
        node: &Value,
        names: Vec<String>,
        semantics: Option<Vec<String>>,
        llm: Option<Vec<String>>,
    ) -> Result<Condition, String> {
        let root = parse_node(node, &names, 0)?;
        Ok(Condition {
            root,
            names,
            semantics,
            llm,
        })
    }

    /// The name of a keyword (an index in the rule's order).
    pub fn keyword(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// Whether the rule matches: the keywords decide the condition true, whatever its
    /// unavailable tiers would say: the condition holds with the keywords alone (the
    /// tiers empty), and, for each tier the rule has, no assignment of true and false to
    /// the tier's unknown candidates (the tier's names the condition may read; more than
    /// ten: assumed to change it) gives another result.
    pub fn matches(&self, keywords: &mut Keywords<'_>) -> Result<bool, String> {
        let early = self.eval(&self.root, keywords, &[], &[])?;
        if !early {
            return Ok(false);
        }
        for (tier, candidates) in [(Section::Semantics, &self.semantics), (Section::Llm, &self.llm)] {
            if let Some(candidates) = candidates {
                if self.can_change(candidates, tier, early, keywords)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Whether some assignment of a tier's unknown candidates changes the result.
    fn can_change(
        &self,
        candidates: &[String],
        tier: Section,
        early: bool,
        keywords: &mut Keywords<'_>,
    ) -> Result<bool, String> {
        if candidates.is_empty() {
            return Ok(false);
        }
        if candidates.len() > MAX_CANDIDATES {
            return Ok(true);
        }
        let mut assignment: Vec<(&str, bool)> = candidates.iter().map(|n| (n.as_str(), false)).collect();
        for bits in 0u32..(1 << candidates.len()) {
            for (j, entry) in assignment.iter_mut().enumerate() {
                entry.1 = bits >> j & 1 == 1;
            }
            let result = if tier == Section::Semantics {
                self.eval(&self.root, keywords, &assignment, &[])?
            } else {
                self.eval(&self.root, keywords, &[], &assignment)?
            };
            if result != early {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// eval(NODE, K, S, L): K found through `keywords`, S and L given.
    fn eval(
        &self,
        node: &Node,
        keywords: &mut Keywords<'_>,
        s: &Assignment<'_>,
        l: &Assignment<'_>,
    ) -> Result<bool, String> {
        Ok(match node {
            Node::Const(value) => *value,
            Node::Not(inner) => !self.eval(inner, keywords, s, l)?,
            Node::And(nodes) => {
                for node in nodes {
                    if !self.eval(node, keywords, s, l)? {
                        return Ok(false);
                    }
                }
                true
            }
            Node::Or(nodes) => {
                for node in nodes {
                    if self.eval(node, keywords, s, l)? {
                        return Ok(true);
                    }
                }
                false
            }
            Node::Var { section, name, keyword } => match (section, keyword) {
                (None | Some(Section::Keywords), Some(index)) => keywords(*index)?,
                (Some(Section::Keywords), None) => false,
                (Some(Section::Semantics), _) => lookup(s, name).unwrap_or(false),
                (Some(Section::Llm), _) => lookup(l, name).unwrap_or(false),
                (None, None) => lookup(s, name).or_else(|| lookup(l, name)).unwrap_or(false),
            },
            Node::Count {
                quantity,
                section,
                prefix,
                keywords: covered,
            } => {
                let wanted = |name: &str| prefix.as_ref().is_none_or(|p| name.starts_with(p.as_str()));
                let mut values: Vec<bool> = Vec::new();
                match section {
                    Some(Section::Keywords) => {
                        for &index in covered {
                            values.push(keywords(index)?);
                        }
                    }
                    Some(Section::Semantics) => values.extend(s.iter().filter(|(n, _)| wanted(n)).map(|&(_, v)| v)),
                    Some(Section::Llm) => values.extend(l.iter().filter(|(n, _)| wanted(n)).map(|&(_, v)| v)),
                    None => {
                        // {**K, **S, **L}: each name once, the later dictionaries winning.
                        for &index in covered {
                            let name = self.names[index].as_str();
                            match lookup(l, name).or_else(|| lookup(s, name)) {
                                Some(value) => values.push(value),
                                None => values.push(keywords(index)?),
                            }
                        }
                        let in_keywords = |name: &str| self.names.iter().any(|k| k == name);
                        for &(name, value) in s.iter().filter(|(n, _)| wanted(n) && !in_keywords(n)) {
                            values.push(lookup(l, name).unwrap_or(value));
                        }
                        values.extend(
                            l.iter()
                                .filter(|(n, _)| wanted(n) && !in_keywords(n) && lookup(s, n).is_none())
                                .map(|&(_, v)| v),
                        );
                    }
                }
                let trues = values.iter().filter(|&&v| v).count() as u64;
                match quantity {
                    Quantity::Any => trues > 0,
                    Quantity::All => !values.is_empty() && trues == values.len() as u64,
                    Quantity::AtLeast(n) => trues >= *n,
                }
            }
        })
    }
}

fn lookup(assignment: &Assignment<'_>, name: &str) -> Option<bool> {
    assignment.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

fn section(value: &Value) -> Result<Option<Section>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s == "keywords" => Ok(Some(Section::Keywords)),
        Value::String(s) if s == "semantics" => Ok(Some(Section::Semantics)),
        Value::String(s) if s == "llm" => Ok(Some(Section::Llm)),
        other => Err(format!("{other} is not a section")),
    }
}

fn parse_node(value: &Value, names: &[String], depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".into());
    }
    let Value::Array(parts) = value else {
        return Err(format!("{value} is not a node (a list)"));
    };
    let Some((Value::String(kind), rest)) = parts.split_first() else {
        return Err(format!("{value} does not start with the node's kind"));
    };
    let node = match (kind.as_str(), rest) {
        ("const", [Value::Bool(b)]) => Node::Const(*b),
        ("not", [inner]) => Node::Not(Box::new(parse_node(inner, names, depth + 1)?)),
        ("and" | "or", operands) if operands.len() >= 2 => {
            let nodes = operands
                .iter()
                .map(|operand| parse_node(operand, names, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if kind == "and" {
                Node::And(nodes)
            } else {
                Node::Or(nodes)
            }
        }
        ("var", [place, Value::String(name)]) => {
            let section = section(place)?;
            let keyword = match section {
                None | Some(Section::Keywords) => names.iter().position(|k| k == name),
                _ => None,
            };
            Node::Var {
                section,
                name: name.clone(),
                keyword,
            }
        }
        ("count", [quantity, place, prefix]) => {
            let quantity = match quantity {
                Value::String(s) if s == "any" => Quantity::Any,
                Value::String(s) if s == "all" => Quantity::All,
                Value::Number(n) => Quantity::AtLeast(n.as_u64().ok_or_else(|| format!("{n} is not a count"))?),
                other => return Err(format!("{other} is not any, all or a count")),
            };
            let section = section(place)?;
            let prefix = match prefix {
                Value::Null if section.is_none() => return Err("a count over all sections needs a prefix".into()),
                Value::Null => None,
                Value::String(p) => Some(format!("${p}")),
                other => return Err(format!("{other} is not a prefix")),
            };
            let keywords = match section {
                None | Some(Section::Keywords) => (0..names.len())
                    .filter(|&i| prefix.as_ref().is_none_or(|p| names[i].starts_with(p.as_str())))
                    .collect(),
                _ => Vec::new(),
            };
            Node::Count {
                quantity,
                section,
                prefix,
                keywords,
            }
        }
        _ => return Err(format!("{value} is not a valid node")),
    };
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::Condition;
    use serde_json::json;

    /// The condition's verdict with keywords named k0, k1, ... set to `values`.
    fn verdict(node: serde_json::Value, values: &[bool], semantics: Option<&[&str]>, llm: Option<&[&str]>) -> bool {
        let names = (0..values.len()).map(|i| format!("$k{i}")).collect();
        let own = |c: Option<&[&str]>| c.map(|c| c.iter().map(|s| (*s).to_string()).collect());
        let condition = Condition::parse(&node, names, own(semantics), own(llm)).unwrap();
        condition.matches(&mut |i| Ok(values[i])).unwrap()
    }

    #[test]
    fn boolean_logic_and_variables() {
        let or = json!(["or", ["var", null, "$k0"], ["var", "keywords", "$k1"]]);
        assert!(verdict(or.clone(), &[true, false], None, None));
        assert!(verdict(or.clone(), &[false, true], None, None));
        assert!(!verdict(or, &[false, false], None, None));
        let and_not = json!(["and", ["var", null, "$k0"], ["not", ["var", null, "$k1"]]]);
        assert!(verdict(and_not.clone(), &[true, false], None, None));
        assert!(!verdict(and_not, &[true, true], None, None));
        assert!(!verdict(json!(["var", "keywords", "$nope"]), &[true], None, None));
        assert!(verdict(json!(["not", ["var", null, "$nope"]]), &[], None, None));
        assert!(verdict(json!(["const", true]), &[], None, None));
    }

    #[test]
    fn counts() {
        let count =
            |q: serde_json::Value, values: &[bool]| verdict(json!(["count", q, "keywords", null]), values, None, None);
        assert!(count(json!("any"), &[false, true]));
        assert!(!count(json!("any"), &[false, false]));
        assert!(count(json!("all"), &[true, true]));
        assert!(!count(json!("all"), &[true, false]));
        assert!(!count(json!("all"), &[]), "all of nothing is false");
        assert!(count(json!(2), &[true, true, false]));
        assert!(!count(json!(3), &[true, true]));
        assert!(count(json!(0), &[]));
        // A prefix: $k1 only.
        assert!(verdict(
            json!(["count", "all", "keywords", "k1"]),
            &[false, true],
            None,
            None
        ));
        // All sections: the prefix is needed, and the semantics candidates count too.
        let merged = json!(["count", 2, null, "k"]);
        assert!(!verdict(merged.clone(), &[true, false], None, None));
        assert!(verdict(merged, &[true, true], None, None));
    }

    #[test]
    fn unknown_tiers_decide_nothing() {
        // $k0 or semantics.$s: the keyword decides it, the semantics cannot change it.
        let or = json!(["or", ["var", null, "$k0"], ["var", "semantics", "$s"]]);
        assert!(verdict(or.clone(), &[true], Some(&["$s"]), None));
        assert!(!verdict(or, &[false], Some(&["$s"]), None));
        // $k0 and not semantics.$s: true on the keywords, false if $s held: no match.
        let and_not = json!(["and", ["var", null, "$k0"], ["not", ["var", "semantics", "$s"]]]);
        assert!(!verdict(and_not.clone(), &[true], Some(&["$s"]), None));
        // ... unless the rule has no semantics section (then the tier is not consulted).
        assert!(verdict(and_not, &[true], None, None));
        // Standalone llm variables count for the LLM tier.
        let llm = json!(["and", ["var", null, "$k0"], ["not", ["var", null, "$l"]]]);
        assert!(!verdict(llm.clone(), &[true], None, Some(&["$l"])));
        assert!(verdict(llm, &[true], Some(&[]), Some(&[])));
        // More than ten candidates: assumed to change the result.
        let eleven: Vec<String> = (0..11).map(|i| format!("$s{i}")).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert!(!verdict(json!(["var", null, "$k0"]), &[true], Some(&eleven), None));
        assert!(verdict(json!(["var", null, "$k0"]), &[true], Some(&eleven[..10]), None));
        // A count over all sections sees the candidates, a later dictionary winning a name.
        let count = json!(["count", 2, null, "k"]);
        assert!(verdict(count.clone(), &[true, true], Some(&["$k2"]), None));
        assert!(
            !verdict(count, &[true, true], Some(&["$k1"]), None),
            "S[$k1] = false overrides K"
        );
        let or = json!(["or", ["var", null, "$k0"], ["count", 2, null, "s"]]);
        assert!(verdict(or, &[true], Some(&["$s0", "$s1"]), None));
    }

    #[test]
    fn refuses_bad_nodes() {
        for node in [
            json!("x"),
            json!([]),
            json!(["and", ["const", true]]),
            json!(["or"]),
            json!(["const", 1]),
            json!(["var", "keyword", "$a"]),
            json!(["count", -1, "keywords", null]),
            json!(["count", 1.5, "keywords", null]),
            json!(["count", "some", "keywords", null]),
            json!(["count", "any", null, null]),
            json!(["nand", ["const", true], ["const", true]]),
        ] {
            assert!(Condition::parse(&node, vec![], None, None).is_err(), "{node}");
        }
        let mut deep = json!(["const", true]);
        for _ in 0..150 {
            deep = json!(["not", deep]);
        }
        assert!(Condition::parse(&deep, vec![], None, None).is_err());
    }
}
