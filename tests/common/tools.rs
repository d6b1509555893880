//! The outside programs the tests drive. Each is looked up before a test uses it; a missing one
//! fails the test at once with one sentence naming it and the command that installs it, rather
//! than with a panic deep inside a helper that reads like a bug of ours.

use std::path::PathBuf;
use std::process::Command;

/// One outside program: its name, the Debian package that ships it, and folders outside `PATH`
/// where that package puts it.
struct Tool {
    name: &'static str,
    package: &'static str,
    also_in: &'static [&'static str],
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "rspamd",
        package: "rspamd",
        also_in: &["/usr/bin", "/usr/sbin"],
    },
    Tool {
        name: "redis-server",
        package: "redis-server",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "smtp-source",
        package: "postfix",
        also_in: &["/usr/sbin", "/usr/bin"],
    },
    Tool {
        name: "pg_config",
        package: "postgresql",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "chromium",
        package: "chromium",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "node",
        package: "nodejs",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "npm",
        package: "npm",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "python3",
        package: "python3-venv",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "systemd-socket-activate",
        package: "systemd",
        also_in: &["/usr/bin"],
    },
    Tool {
        name: "systemd-analyze",
        package: "systemd",
        also_in: &["/usr/bin"],
    },
];

/// The path of the named program; a test without it fails here, saying how to get it.
pub fn require(name: &str) -> PathBuf {
    let tool = TOOLS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("tests/common/tools.rs knows no tool named {name}"));
    if let Some(path) = find(tool) {
        return path;
    }
    panic!(
        "{name} is missing on this machine: `bash scripts/test.sh --setup-only` installs it \
         (Debian package {}), then run the tests again.",
        tool.package
    );
}

fn find(tool: &Tool) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {}", tool.name)])
        .output()
        .ok()?;
    let on_path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && !on_path.is_empty() {
        return Some(on_path.into());
    }
    tool.also_in
        .iter()
        .map(|dir| PathBuf::from(dir).join(tool.name))
        .find(|path| path.is_file())
}
