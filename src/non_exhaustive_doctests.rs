//! Which public enums are `#[non_exhaustive]`, checked from outside the crate (doctests are
//! other crates): for each, a `match` naming every variant fails to compile, and the same
//! `match` with a `_` arm compiles (so the failure is the missing wildcard, not a typo).
//!
//! Left exhaustive on purpose: [`Action`](crate::Action) (an observer's yes/no: go on or
//! stop), [`metrics::By`](crate::metrics::By) (the two axes of a response table) and
//! [`toloka::TaskIdOrder`](crate::toloka::TaskIdOrder) (ascending or descending), closed sets
//! a caller may match without a wildcard.

/// One hidden item per enum, its doc holding the two doctests.
macro_rules! non_exhaustive {
    ($($(#[$meta:meta])* $item:ident: $ty:path { $($variant:pat),+ $(,)? })*) => {$(
        $(#[$meta])*
        #[doc = concat!(
            "```compile_fail,E0004\nfn f(v: ", stringify!($ty), ") {\n    use ",
            stringify!($ty), " as E;\n    match v {\n",
            $("        ", stringify!($variant), " => {}\n",)+
            "    }\n}\n```\n\n```\nfn f(v: ", stringify!($ty), ") {\n    use ",
            stringify!($ty), " as E;\n    match v {\n",
            $("        ", stringify!($variant), " => {}\n",)+
            "        _ => {}\n    }\n}\n```"
        )]
        #[allow(dead_code)]
        struct $item;
    )*};
}

non_exhaustive! {
    DuplicatePolicy: crowdagg::DuplicatePolicy { E::Keep, E::KeepLast, E::Reject }
    Compat: crowdagg::Compat { E::CrowdKit, E::Corrected }
    MaceMethod: crowdagg::MaceMethod { E::Vb, E::Em }
    MissingSkill: crowdagg::MissingSkill { E::Error, E::Value(_), E::Ignore }
    OnMissingSkill: crowdagg::methods::OnMissingSkill { E::Error, E::Value, E::Ignore }
    InitialErrorStrategy: crowdagg::InitialErrorStrategy { E::Assign, E::Addition }
    WorkerType: crowdagg::generate::WorkerType {
        E::Good, E::Spammer, E::Adversarial, E::Biased
    }
    AggregatedSolutionType: crowdagg::toloka::AggregatedSolutionType {
        E::WeightedDynamicOverlap, E::DawidSkene
    }
    OperationSortKey: crowdagg::toloka::OperationSortKey { E::Id, E::Submitted, E::Finished }
    JsonType: crowdagg::toloka::JsonType { E::String, E::Integer, E::Array, E::Object }
    // The open string enums share one macro: one of them stands for all.
    OperationStatus: crowdagg::toloka::OperationStatus {
        E::Pending, E::Running, E::Success, E::Fail, E::Other(_)
    }
    #[cfg(feature = "remote")]
    Auth: crowdagg::toloka::Auth { E::OAuth(_), E::ApiKey(_) }
}
