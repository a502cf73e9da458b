//! `genmux accounts …` (operator) and `genmux balance` (issue 13 point 4), over the
//! gateway's `/v1/accounts` and `/v1/balance` routes.

use super::gateway::Ctx;
use super::AccountsAction;
use crate::exit::CliError;
use crate::output::{cell, print_json, table};
use serde_json::{json, Value};

/// The account id argument, checked here with the gateway's own rule, so a bad id is a
/// usage error (exit 2) and never reaches the URL path.
fn account_id(id: &str) -> Result<&str, CliError> {
    genmux_store::check_account_id("ID", id).map_err(|e| CliError::Usage(e.message().into()))?;
    Ok(id)
}

fn in_points(v: Option<&Value>) -> String {
    format!("{} points", cell(v))
}

/// `+5` / `-5`.
fn signed(v: Option<&Value>) -> String {
    match v.and_then(Value::as_i64) {
        Some(n) if n > 0 => format!("+{n}"),
        Some(n) => n.to_string(),
        None => cell(v),
    }
}

fn print_account(a: &Value) {
    println!("account  {}", cell(a.get("id")));
    println!("balance  {}", in_points(a.get("balance")));
    println!("held     {}", in_points(a.get("heldPoints")));
    // Results the gateway keeps for the account (issue 18), where the answer says.
    if let (Some(n), Some(bytes)) = (a.get("storedAssets"), a.get("storedBytes")) {
        println!(
            "stored   {} results, {} bytes",
            cell(Some(n)),
            cell(Some(bytes))
        );
    }
    println!("created  {}", cell(a.get("createdAt")));
}

/// "page 1, 3 of 3" under a table.
fn page_line(doc: &Value, shown: usize) -> String {
    format!(
        "page {} ({shown} shown, {} in all)",
        cell(doc.get("page")),
        cell(doc.get("total"))
    )
}

/// `genmux accounts`.
pub async fn accounts(ctx: &Ctx, action: &AccountsAction) -> Result<(), CliError> {
    match action {
        AccountsAction::Create { id } => {
            let id = account_id(id)?;
            let doc = ctx
                .client
                .post("/v1/accounts", &json!({ "id": id }), None)
                .await?;
            if ctx.json {
                print_json(&doc);
            } else {
                println!("created account {id}");
                print_account(&doc["account"]);
            }
        }
        AccountsAction::List { page, limit } => {
            let doc = ctx
                .client
                .get(
                    "/v1/accounts",
                    &[("page", page.to_string()), ("limit", limit.to_string())],
                )
                .await?;
            if ctx.json {
                print_json(&doc);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = doc["accounts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    vec![
                        cell(a.get("id")),
                        cell(a.get("balance")),
                        cell(a.get("heldPoints")),
                        cell(a.get("createdAt")),
                    ]
                })
                .collect();
            println!("{}", table(&["ID", "BALANCE", "HELD", "CREATED"], &rows));
            println!("{}", page_line(&doc, rows.len()));
        }
        AccountsAction::Show { id } => {
            let id = account_id(id)?;
            let doc = ctx.client.get(&format!("/v1/accounts/{id}"), &[]).await?;
            if ctx.json {
                print_json(&doc);
            } else {
                print_account(&doc["account"]);
            }
        }
        AccountsAction::TopUp { id, points, reason }
        | AccountsAction::Adjust { id, points, reason } => {
            let id = account_id(id)?;
            let route = match action {
                AccountsAction::TopUp { .. } => "top-up",
                _ => "adjust",
            };
            let doc = ctx
                .client
                .post(
                    &format!("/v1/accounts/{id}/{route}"),
                    &json!({ "points": points, "reason": reason }),
                    None,
                )
                .await?;
            if ctx.json {
                print_json(&doc);
            } else {
                let entry = &doc["entry"];
                println!(
                    "{id}: {} points ({}, entry {}: {})",
                    signed(entry.get("points")),
                    cell(entry.get("kind")),
                    cell(entry.get("id")),
                    cell(entry.get("reason"))
                );
                println!(
                    "balance  {}  (held {})",
                    in_points(doc["account"].get("balance")),
                    cell(doc["account"].get("heldPoints"))
                );
            }
        }
        AccountsAction::Ledger { id, page, limit } => {
            let id = account_id(id)?;
            let doc = ctx
                .client
                .get(
                    &format!("/v1/accounts/{id}/ledger"),
                    &[("page", page.to_string()), ("limit", limit.to_string())],
                )
                .await?;
            if ctx.json {
                print_json(&doc);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = doc["entries"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    vec![
                        cell(e.get("createdAt")),
                        cell(e.get("kind")),
                        signed(e.get("points")),
                        cell(e.get("balanceAfter")),
                        cell(e.get("taskId")),
                        cell(e.get("reason")),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(
                    &["CREATED", "KIND", "POINTS", "BALANCE", "TASK", "REASON"],
                    &rows
                )
            );
            println!("{}", page_line(&doc, rows.len()));
        }
    }
    Ok(())
}

/// `genmux balance`.
pub async fn balance(ctx: &Ctx) -> Result<(), CliError> {
    let doc = ctx.client.get("/v1/balance", &[]).await?;
    if ctx.json {
        print_json(&doc);
    } else {
        println!(
            "{}: {} ({} held for running tasks)",
            cell(doc.get("accountId")),
            in_points(doc.get("balance")),
            cell(doc.get("heldPoints"))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_account_id_is_a_usage_error_naming_the_argument() {
        for bad in ["DEFAULT", "default ", "a/b", "", "../keys"] {
            let e = account_id(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            assert!(e.to_string().starts_with("ID: `"), "{e}");
            assert!(e.to_string().contains("allowed: 1–63 characters"), "{e}");
        }
        assert_eq!(account_id("team-7").unwrap(), "team-7");
    }

    #[test]
    fn signed_points() {
        assert_eq!(signed(Some(&json!(5))), "+5");
        assert_eq!(signed(Some(&json!(-5))), "-5");
        assert_eq!(signed(None), "-");
    }
}
