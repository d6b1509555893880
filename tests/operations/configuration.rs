//! Configuration: errors that name the key and line, check-config, the documented example, secrets
//! from a file or the environment.

use super::*;

fn check_config(path: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .output()
        .unwrap()
}

#[test]
fn configuration_errors_name_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    for (text, key, line) in [
        (
            "[server]\nhostname = \"mx\"\nlisten_on = [\"127.0.0.1:25\"]\n",
            "listen_on",
            3,
        ),
        ("[limits]\n\nmax_recipients = \"many\"\n", "max_recipients", 3),
        (
            "[server]\nhostname = \"mx\"\n[limits]\nmax_recipients = 0\n",
            "limits.max_recipients",
            4,
        ),
        ("[database]\nmax_size = 10\n", "database.max_size", 2),
        ("[database]\n\nurl = \"mysql://db/inboxd\"\n", "database.url", 3),
        (
            "[database]\nurl = \"postgres://db/x\"\nurl_env = \"X\"\n",
            "database.url_env",
            3,
        ),
        (
            "[server]\nproxy_trusted_networks = [\"10.0.0.0/99\"]\n",
            "proxy_trusted_networks",
            2,
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let out = check_config(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert!(err.contains(&format!("line {line}")), "{text}: {err}");
        // The server refuses to start on it too.
        let out = Command::new(BIN)
            .args(["--config", path.to_str().unwrap(), "serve"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
    }
}

#[test]
fn check_config_prints_the_effective_configuration() {
    let out = check_config(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/inboxd.toml"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed["server"]["hostname"].as_str(), Some("inboxd.localhost"));
    assert_eq!(printed["limits"]["max_recipients"].as_integer(), Some(100));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reply_tokens: no key configured"),
        "says which reply-token key is in use"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[server]\nhostname = \"mx.example.com\"\n[reply_tokens]\nsecret = \"a-very-secret-key-123\"\n",
    )
    .unwrap();
    let out = check_config(&path);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("hostname = \"mx.example.com\""));
    assert!(
        printed.contains("max_message_size = 26214400"),
        "defaults are shown too: {printed}"
    );
    assert!(!printed.contains("a-very-secret-key-123"), "secrets are masked");
}

#[test]
fn the_example_configuration_documents_every_setting_with_its_default() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/inboxd.toml")).unwrap();
    let example = inboxd::config::Config::parse(&text).unwrap();
    assert_eq!(
        example,
        inboxd::config::Config::default(),
        "the example's values are the defaults"
    );
    // Every key of every section is mentioned (set, or commented out for optional ones).
    let defaults: toml::Table = toml::from_str(&toml::to_string(&inboxd::config::Config::default()).unwrap()).unwrap();
    let optional = [
        "certificate",
        "private_key",
        "secret",
        "secret_file",
        "secret_env",
        "listen",
    ];
    for (section, keys) in &defaults {
        assert!(text.contains(&format!("[{section}]")), "[{section}] missing");
        for key in keys.as_table().unwrap().keys() {
            assert!(text.contains(&format!("{key} = ")), "{section}.{key} is not documented");
        }
    }
    for key in optional {
        assert!(
            text.contains(&format!("# {key} = ")) || text.contains(&format!("{key} = ")),
            "{key}"
        );
    }
}

#[test]
fn the_reply_secret_can_come_from_a_file_or_the_environment() {
    let secret_dir = tempfile::tempdir().unwrap();
    let file = secret_dir.path().join("secret");
    std::fs::write(&file, "file-secret-0123456789abcdef\n").unwrap();
    let server = builder()
        .set("reply_tokens.secret_file", file.to_str().unwrap())
        .set(
            "reply_tokens.secret",
            toml::Value::String("unused-inline-0123456789".into()),
        )
        .start();
    let acme = server.create_account("Acme");
    let address = server.json(&["reply-address", &acme.id.to_string(), "--contact", "a@b.example"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let router = inboxd::routing::Router::new(vec![DOMAIN.into()], b"file-secret-0123456789abcdef".to_vec());
    assert!(router.route(&address).is_ok(), "signed with the file's key");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{address}>")).expect(250, "2.1.5");

    let server = builder()
        .set("reply_tokens.secret_env", "INBOXD_TEST_SECRET")
        .env("INBOXD_TEST_SECRET", "env-secret-0123456789abcdef")
        .start();
    let acme = server.create_account("Acme");
    let address = server.json(&["reply-address", &acme.id.to_string(), "--contact", "a@b.example"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let router = inboxd::routing::Router::new(vec![DOMAIN.into()], b"env-secret-0123456789abcdef".to_vec());
    assert!(router.route(&address).is_ok(), "signed with the environment's key");
    // A missing variable is a configuration error naming the key.
    let b = builder().set("reply_tokens.secret_env", "INBOXD_TEST_SECRET_MISSING");
    let out = check_config(&b.write_config());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reply_tokens.secret_env"));
}

#[test]
fn check_config_connect_reaches_the_database_and_the_resolver() {
    let server = start();
    let connect = |config: &Path| {
        Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "check-config", "--connect"])
            .output()
            .unwrap()
    };
    let out = connect(&server.config_path);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(said.contains("database: SQLite 3."), "{said}");
    assert!(
        said.contains(&format!(
            "schema {0} (this build knows {0})",
            inboxd::store::schema::LATEST
        )),
        "{said}"
    );
    assert!(said.contains(&format!("resolver: {} answered in", zone().0)), "{said}");

    // A resolver that does not answer: every message would wait for it, so say so and fail.
    let dead = builder()
        .set("database.path", server.db_path.to_str().unwrap())
        .set("auth.nameservers", toml::Value::Array(vec!["127.0.0.1:9".into()]));
    let out = connect(&dead.write_config());
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("resolver: 127.0.0.1:9 did not answer"), "{said}");
    assert!(said.contains("local caching resolver"), "{said}");

    // A file that is not a database cannot be connected to.
    let broken = builder();
    let path = broken.dir().join("broken.db");
    std::fs::write(&path, b"this is not an SQLite file, not at all, really").unwrap();
    let broken = broken.set("database.path", path.to_str().unwrap());
    let out = connect(&broken.write_config());
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("cannot connect"), "{said}");
}

#[test]
fn migrate_applies_the_schema_and_refuses_a_newer_one() {
    let b = builder();
    let db = b.dir().join("inboxd.db");
    let config = b.write_config();
    let migrate = || {
        Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "migrate"])
            .output()
            .unwrap()
    };
    let out = migrate();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("schema 0 -> {}", inboxd::store::schema::LATEST)),
        "{said}"
    );
    let out = migrate();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("schema {} is current", inboxd::store::schema::LATEST))
    );
    // A database a newer build migrated: this build refuses it, with the reason.
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let out = migrate();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        said.contains(&format!(
            "schema version 99 is newer than this inboxd knows ({})",
            inboxd::store::schema::LATEST
        )),
        "{said}"
    );
}
