//! `genmux accounts …` and `genmux balance` (issue 13 point 4), run as the real binary
//! against a `genmux serve` child process (sandbox, SQLite in a temp dir) with the key its
//! first start created — the operator's — asserting tables, `--json` and exit codes.

mod support;

use serde_json::Value;
use support::Gateway;

/// The table rows (after the header and the dashes).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .take_while(|l| !l.starts_with("page "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn operators_manage_accounts_and_tenants_see_their_balance() {
    let gw = Gateway::start(&["--starter-points", "1000"]);

    // The first-start key is the operator's, in `default`.
    let b = gw.run(&["balance"]).ok();
    assert_eq!(
        b.stdout.trim(),
        "default: 1000 points (0 held for running tasks)"
    );
    let b = gw.run(&["--json", "balance"]).ok().json();
    assert_eq!(b["balance"], 1000);
    assert_eq!(b["heldPoints"], 0);

    // create, and the same id again.
    let c = gw.run(&["accounts", "create", "acme"]).ok();
    assert!(
        c.stdout.starts_with("created account acme\n"),
        "{}",
        c.stdout
    );
    assert!(c.stdout.contains("balance  0 points"), "{}", c.stdout);
    let again = gw.run(&["accounts", "create", "acme"]).exits(3);
    assert!(again.stderr.contains("HTTP 409"), "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    // A twin of an id is a usage error naming the argument, the value and the rule.
    for bad in ["DEFAULT", "acme ", "a/b"] {
        let e = gw.run(&["accounts", "create", bad]).exits(2);
        assert!(e.stderr.contains(&format!("ID: `{bad}`")), "{}", e.stderr);
        assert!(e.stderr.contains("lowercase letters a–z"), "{}", e.stderr);
    }

    // top-up and adjust, with reasons; never below zero.
    let t = gw
        .run(&[
            "accounts",
            "top-up",
            "acme",
            "--points",
            "500",
            "--reason",
            "contract 2025-01",
        ])
        .ok();
    let first = t.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("acme: +500 points (top_up, entry ")
            && first.ends_with(": contract 2025-01)"),
        "{first}"
    );
    assert!(
        t.stdout.contains("balance  500 points  (held 0)"),
        "{}",
        t.stdout
    );
    let a = gw
        .run(&[
            "--json",
            "accounts",
            "adjust",
            "acme",
            "--points",
            "-200",
            "--reason",
            "duplicate top-up",
        ])
        .ok()
        .json();
    assert_eq!(a["entry"]["kind"], "adjust");
    assert_eq!(a["entry"]["points"], -200);
    assert_eq!(a["account"]["balance"], 300);
    let refused = gw
        .run(&[
            "accounts", "adjust", "acme", "--points", "-301", "--reason", "too much",
        ])
        .exits(3);
    assert!(
        refused.stderr.contains("HTTP 409") && refused.stderr.contains("balance is 300 points"),
        "{}",
        refused.stderr
    );
    let zero = gw
        .run(&[
            "accounts", "top-up", "acme", "--points", "0", "--reason", "r",
        ])
        .exits(3);
    assert!(zero.stderr.contains("points: 0"), "{}", zero.stderr);
    let missing = gw
        .run(&[
            "accounts", "top-up", "ghost", "--points", "5", "--reason", "r",
        ])
        .exits(3);
    assert!(
        missing.stderr.contains("`ghost` does not exist"),
        "{}",
        missing.stderr
    );
    let overflow = gw
        .run(&[
            "accounts",
            "adjust",
            "acme",
            "--points",
            "99999999999999999999",
            "--reason",
            "r",
        ])
        .exits(2);
    assert!(overflow.stderr.contains("--points"), "{}", overflow.stderr);

    // show, list, ledger.
    let s = gw.run(&["accounts", "show", "acme"]).ok();
    assert!(
        s.stdout
            .starts_with("account  acme\nbalance  300 points\nheld     0 points\nstored   0 results, 0 bytes\ncreated  "),
        "{}",
        s.stdout
    );
    let list = gw.run(&["accounts", "list"]).ok().stdout;
    assert!(list.starts_with("ID"), "{list}");
    let listed = rows(&list);
    assert_eq!(
        listed.iter().map(|r| r[..3].join(" ")).collect::<Vec<_>>(),
        vec!["acme 300 0", "default 1000 0"]
    );
    assert!(
        list.trim_end().ends_with("page 1 (2 shown, 2 in all)"),
        "{list}"
    );
    let j = gw
        .run(&["--json", "accounts", "list", "--limit", "1"])
        .ok()
        .json();
    assert_eq!(j["total"], 2);
    assert_eq!(j["accounts"].as_array().unwrap().len(), 1);
    let ledger = gw.run(&["accounts", "ledger", "acme"]).ok().stdout;
    let entries = rows(&ledger);
    assert_eq!(entries.len(), 2, "{ledger}");
    assert_eq!(
        entries[0][1..4],
        ["adjust", "-200", "300"],
        "newest first: {ledger}"
    );
    assert!(ledger.contains("duplicate top-up"), "{ledger}");
    assert_eq!(entries[1][1..4], ["top_up", "+500", "500"], "{ledger}");
    let j = gw
        .run(&["--json", "accounts", "ledger", "acme"])
        .ok()
        .json();
    assert_eq!(j["entries"][1]["reason"], "contract 2025-01");

    // A tenant key for acme: its own balance; no operator commands; no other account's keys.
    let k = gw
        .run(&[
            "--json",
            "keys",
            "create",
            "--name",
            "acme admin",
            "--account",
            "acme",
            "--scope",
            "admin",
        ])
        .ok()
        .json();
    let acme = k["key"].as_str().unwrap().to_string();
    let acme_id = k["id"].as_str().unwrap().to_string();
    // The operator lists acme's keys by name.
    let listed = gw.run(&["keys", "list", "--account", "acme"]).ok().stdout;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&acme_id) && l.contains("acme admin")),
        "{listed}"
    );
    let b = gw.run_with_key(Some(&acme), &["balance"]).ok();
    assert_eq!(
        b.stdout.trim(),
        "acme: 300 points (0 held for running tasks)"
    );
    let denied = gw.run_with_key(Some(&acme), &["accounts", "list"]).exits(4);
    assert!(denied.stderr.contains("operator"), "{}", denied.stderr);
    let takeover = gw
        .run_with_key(
            Some(&acme),
            &[
                "keys",
                "create",
                "--name",
                "x",
                "--account",
                "default",
                "--scope",
                "admin",
            ],
        )
        .exits(4);
    assert!(takeover.stderr.contains("accountId"), "{}", takeover.stderr);
    // Keys for accounts that do not exist are refused, not created with them.
    let ghost = gw
        .run(&["keys", "create", "--name", "x", "--account", "ghost"])
        .exits(3);
    assert!(ghost.stderr.contains("does not exist"), "{}", ghost.stderr);
    let j: Value = gw.run(&["--json", "accounts", "list"]).ok().json();
    assert_eq!(j["total"], 2, "no account was created");
    // Nor does acme's admin see default's keys.
    let peek = gw
        .run_with_key(Some(&acme), &["keys", "list", "--account", "default"])
        .exits(4);
    assert!(peek.stderr.contains("accountId"), "{}", peek.stderr);
}
