//! The fake's own controls under `/_admin`: move the world to another day, change the
//! faults, delete or rename organisations, read and reset the request counters.

use super::*;

#[post("/_admin/day/<day>")]
fn set_day(forge: &State<Arc<Forge>>, day: u32) -> Reply {
    forge.set_day(day);
    Reply::json(Status::Ok, &json!({"day": day}), Vec::new())
}

#[get("/_admin/stats")]
fn stats(forge: &State<Arc<Forge>>) -> Reply {
    Reply::json(
        Status::Ok,
        &json!({"day": forge.day(), "requests": forge.counters()}),
        Vec::new(),
    )
}

/// `POST /_admin/faults` with a JSON [`Faults`] (missing fields are 0): replaces them.
#[post("/_admin/faults", data = "<body>")]
fn set_faults(forge: &State<Arc<Forge>>, body: &str) -> Reply {
    match serde_json::from_str::<Faults>(body) {
        Ok(faults) => {
            forge.set_faults(faults);
            Reply::json(Status::Ok, &json!({"faults": forge.faults()}), Vec::new())
        }
        Err(e) => Reply::json(
            Status::UnprocessableEntity,
            &json!({"message": format!("not a fault set: {e}")}),
            Vec::new(),
        ),
    }
}

#[post("/_admin/orgs/<login>/delete")]
fn delete_org(forge: &State<Arc<Forge>>, login: &str) -> Reply {
    if forge.delete_org(login) {
        Reply::json(Status::Ok, &json!({"deleted": login}), Vec::new())
    } else {
        Reply::json(
            Status::NotFound,
            &json!({"message": "no such organisation"}),
            Vec::new(),
        )
    }
}

#[post("/_admin/orgs/<login>/rename/<to>")]
fn rename_org(forge: &State<Arc<Forge>>, login: &str, to: &str) -> Reply {
    if forge.rename_org(login, to) {
        Reply::json(Status::Ok, &json!({"renamed": login, "to": to}), Vec::new())
    } else {
        Reply::json(
            Status::NotFound,
            &json!({"message": "no such organisation, or the new login is taken"}),
            Vec::new(),
        )
    }
}

#[post("/_admin/reset")]
fn reset(forge: &State<Arc<Forge>>) -> Reply {
    forge.reset_counters();
    Reply::json(Status::Ok, &json!({"reset": true}), Vec::new())
}

/// The admin routes, mounted at the root.
pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![set_day, set_faults, delete_org, rename_org, stats, reset]
}
