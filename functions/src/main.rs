//! Every function in one binary, as deployed and as the local stack runs them: each is still its own Lambda (own
//! role, settings and alarms) whose `Handler` names the function to run (Lambda passes it as `_HANDLER`, e.g.
//! `code-release`). The functions are the entry files of `src/entries`, included as modules by `build.rs`: one link
//! and one upload instead of one per function (docs/performance.md has the figures behind the choice).
include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));

fn main() -> Result<(), wxtpl::lambda::BoxError> {
    let handler = std::env::var("_HANDLER").unwrap_or_default();
    run(&handler).unwrap_or_else(|| {
        Err(format!(
            "no function named {handler:?}; set the Lambda's Handler to one of {FUNCTIONS:?}"
        )
        .into())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_function_of_the_template_is_in_the_binary() {
        let template = include_str!("../../template.yaml");
        let named: Vec<&str> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Handler: "))
            .collect();
        assert!(
            named.len() > 50,
            "template.yaml names its functions' handlers"
        );
        for handler in &named {
            assert!(
                super::FUNCTIONS.contains(handler),
                "{handler} has no entry file in src/entries"
            );
        }
        for entry in super::FUNCTIONS {
            assert!(
                named.contains(entry),
                "src/entries/{entry}.rs is no function's Handler in template.yaml"
            );
        }
    }
}
