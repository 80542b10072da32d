//! The promise of `include/brokerclient.h` that every declaration says what a C caller must
//! know before calling it: who owns what it returns, from which threads it may be called, and
//! how it fails. Checked on the generated header, so a new export without them fails here.

/// One function declaration of the header and the doc comment above it.
struct Declaration<'a> {
    name: &'a str,
    doc: &'a str,
    signature: &'a str,
}

/// The declarations outside the fault proxy's blocks (test-only, under
/// BC_FEATURE_FAULT_PROXY).
fn declarations(header: &str) -> Vec<Declaration<'_>> {
    let mut out = Vec::new();
    let mut rest = header;
    let mut in_fault_proxy = false;
    while let Some(start) = rest.find("/**") {
        let before = &rest[..start];
        for line in before.lines() {
            if line.starts_with("#if defined(BC_FEATURE_FAULT_PROXY)") {
                in_fault_proxy = true;
            } else if line.starts_with("#endif") {
                in_fault_proxy = false;
            }
        }
        let Some(end) = rest[start..].find("*/") else {
            break;
        };
        let doc = &rest[start + 3..start + end];
        let after = &rest[start + end + 2..];
        let Some(semi) = after.find(';') else { break };
        let signature = after[..semi].trim();
        rest = after;
        // A function declaration: `type name(` on its first line, no `typedef`/`struct {`.
        let first = signature.lines().next().unwrap_or("");
        if in_fault_proxy || first.starts_with("typedef") || !first.contains('(') {
            continue;
        }
        let Some(name) = first[..first.find('(').unwrap()]
            .split([' ', '*'])
            .rfind(|s| !s.is_empty())
            .filter(|n| n.starts_with("bc_"))
        else {
            continue;
        };
        out.push(Declaration {
            name,
            doc,
            signature,
        });
    }
    out
}

#[test]
fn every_declaration_documents_ownership_threads_and_errors() {
    let header = include_str!("../../include/brokerclient.h");
    let decls = declarations(header);
    assert!(decls.len() > 150, "found only {} declarations", decls.len());
    let mut missing = Vec::new();
    for d in &decls {
        let params = &d.signature[d.signature.find('(').unwrap()..];
        let out_params = params
            .split(',')
            .any(|p| p.contains("**") && !p.contains("err_out"));
        let returns_pointer = d.signature[..d.signature.find(d.name).unwrap()].contains('*');
        if !d.doc.contains("Thread-safety") {
            missing.push(format!("{}: no Thread-safety line", d.name));
        }
        if d.signature.starts_with("bc_status") && !d.doc.contains("Errors") {
            missing.push(format!(
                "{}: returns bc_status but has no Errors line",
                d.name
            ));
        }
        if (out_params || returns_pointer) && !d.doc.contains("Ownership") {
            missing.push(format!(
                "{}: returns something but has no Ownership line",
                d.name
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "header declarations missing their contract lines (write them on the export's doc \
         comment in src/ffi):\n{}",
        missing.join("\n")
    );
}
