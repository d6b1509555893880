//! An account's sender rules: addresses and domains it always takes (`allow`: never quarantined,
//! never refused for spam) or never takes (`block`: 550 5.7.1 at RCPT or at the end of DATA).
//!
//! A rule names an address (`ann@example.com`) or a domain (`example.com`, which also covers its
//! subdomains). The most specific rule wins: an address before a domain, a longer domain before
//! a shorter one; between an allow and a block of the same name (not possible in the store, whose
//! key is the name) the block would win.

use serde::{Deserialize, Serialize};

/// What a rule says about a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderRule {
    Allow,
    Block,
}

impl SenderRule {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderRule::Allow => "allow",
            SenderRule::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<SenderRule> {
        match s {
            "allow" => Some(SenderRule::Allow),
            "block" => Some(SenderRule::Block),
            _ => None,
        }
    }
}

/// An account's rules, as (lower-case address or domain, rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderRules(Vec<(String, SenderRule)>);

impl SenderRules {
    pub fn new(rules: Vec<(String, SenderRule)>) -> SenderRules {
        SenderRules(rules)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rule for one address, if any names it or its domain.
    pub fn rule_for(&self, address: &str) -> Option<SenderRule> {
        let address = address.trim().to_lowercase();
        let (_, domain) = address.rsplit_once('@')?;
        let mut best: Option<(usize, SenderRule)> = None;
        for (name, rule) in &self.0 {
            let specificity = if name.contains('@') {
                if *name != address {
                    continue;
                }
                usize::MAX
            } else if domain == name
                || domain
                    .strip_suffix(name.as_str())
                    .is_some_and(|parent| parent.ends_with('.'))
            {
                name.len()
            } else {
                continue;
            };
            let better = match best {
                None => true,
                Some((s, r)) => specificity > s || (specificity == s && *rule == SenderRule::Block && r != *rule),
            };
            if better {
                best = Some((specificity, *rule));
            }
        }
        best.map(|(_, rule)| rule)
    }

    /// The rule for a message: a block of any of its senders (the envelope's and the From
    /// header's) refuses it; otherwise an allow of any of them lets it through.
    pub fn rule_for_any<'a>(&self, senders: impl IntoIterator<Item = &'a str>) -> Option<SenderRule> {
        let rules: Vec<SenderRule> = senders.into_iter().filter_map(|s| self.rule_for(s)).collect();
        if rules.contains(&SenderRule::Block) {
            Some(SenderRule::Block)
        } else if rules.contains(&SenderRule::Allow) {
            Some(SenderRule::Allow)
        } else {
            None
        }
    }
}

/// The stored form of a rule's name: a lower-case address or domain, or None when it is neither.
pub fn normalize_sender(input: &str) -> Option<String> {
    let s = input.trim().trim_start_matches('@').to_lowercase();
    if s.is_empty() || s.len() > 320 || s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>') {
        return None;
    }
    match s.rsplit_once('@') {
        Some((local, domain)) => (!local.is_empty() && !local.contains('@') && is_domain(domain)).then_some(s),
        None => is_domain(&s).then_some(s),
    }
}

fn is_domain(d: &str) -> bool {
    d.contains('.')
        && d.split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && !label.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, SenderRule)]) -> SenderRules {
        SenderRules::new(list.iter().map(|(n, r)| (n.to_string(), *r)).collect())
    }

    #[test]
    fn a_domain_covers_itself_and_its_subdomains_only() {
        let r = rules(&[("example.com", SenderRule::Block)]);
        assert_eq!(r.rule_for("a@example.com"), Some(SenderRule::Block));
        assert_eq!(r.rule_for("a@mail.Example.com"), Some(SenderRule::Block));
        assert_eq!(r.rule_for("a@badexample.com"), None);
        assert_eq!(r.rule_for("a@example.com.evil"), None);
        assert_eq!(r.rule_for(""), None);
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let r = rules(&[
            ("example.com", SenderRule::Block),
            ("ann@example.com", SenderRule::Allow),
            ("good.example.com", SenderRule::Allow),
        ]);
        assert_eq!(r.rule_for("ann@example.com"), Some(SenderRule::Allow));
        assert_eq!(r.rule_for("bob@example.com"), Some(SenderRule::Block));
        assert_eq!(r.rule_for("bob@good.example.com"), Some(SenderRule::Allow));
    }

    #[test]
    fn a_block_of_either_sender_refuses_the_message() {
        let r = rules(&[("spam.test", SenderRule::Block), ("friend.test", SenderRule::Allow)]);
        assert_eq!(
            r.rule_for_any(["x@friend.test", "y@spam.test"]),
            Some(SenderRule::Block)
        );
        assert_eq!(
            r.rule_for_any(["x@friend.test", "y@other.test"]),
            Some(SenderRule::Allow)
        );
        assert_eq!(r.rule_for_any(["x@other.test"]), None);
    }

    #[test]
    fn names_are_normalized_or_refused() {
        assert_eq!(normalize_sender(" Ann@Example.COM "), Some("ann@example.com".into()));
        assert_eq!(normalize_sender("@Example.com"), Some("example.com".into()));
        assert_eq!(normalize_sender("localhost"), None);
        assert_eq!(normalize_sender("a b@x.com"), None);
        assert_eq!(normalize_sender("@"), None);
        assert_eq!(normalize_sender("x@y@z.com"), None);
    }
}
