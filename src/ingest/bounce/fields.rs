//! Blocks of "Name: value" lines with folded continuations, as delivery-status parts, feedback
//! reports and the headers quoted in a bounce's text are written.

/// One line of a block of "Name: value" fields.
pub(super) enum FieldLine<'a> {
    Blank,
    /// A folded continuation of the previous field.
    Continuation(&'a str),
    Field(String, &'a str),
    /// Neither: free text between fields.
    Other(&'a str),
}

pub(super) fn field_line(line: &str) -> FieldLine<'_> {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return FieldLine::Blank;
    }
    if line.starts_with([' ', '\t']) {
        return FieldLine::Continuation(line.trim());
    }
    if let Some((name, value)) = line.split_once(':') {
        let name = name.trim();
        if !name.is_empty() && !name.contains(' ') {
            return FieldLine::Field(name.to_ascii_lowercase(), value.trim());
        }
    }
    FieldLine::Other(line.trim())
}

/// Appends a folded continuation to the last field, if there is one.
pub(super) fn continue_field(fields: &mut [(String, String)], more: &str) {
    if let Some(last) = fields.last_mut() {
        last.1.push(' ');
        last.1.push_str(more);
    }
}

/// Parses "Name: value" lines with folded continuations, stopping at the first
/// blank line after at least one field.
pub(super) fn parse_header_block(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match field_line(line) {
            FieldLine::Blank if out.is_empty() => {}
            FieldLine::Blank => break,
            FieldLine::Continuation(more) => continue_field(&mut out, more),
            FieldLine::Field(name, value) => out.push((name, value.to_string())),
            FieldLine::Other(_) => {}
        }
    }
    out
}

/// "Name: value" fields with continuations; blank lines are ignored, other lines kept unnamed.
pub(super) fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match field_line(line) {
            FieldLine::Blank => {}
            FieldLine::Continuation(more) => continue_field(&mut out, more),
            FieldLine::Field(name, value) => out.push((name, value.to_string())),
            FieldLine::Other(text) => out.push((String::new(), text.to_string())),
        }
    }
    out
}
