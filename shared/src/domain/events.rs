//! What the platform announces on its EventBridge bus (schema: docs/events.md). Pure: no I/O.
use serde_json::{json, Value};

/// `source` of every event the platform puts on its bus.
pub const SOURCE: &str = "wxtpl";

/// One state change worth telling other systems about; its `detail-type` is the variant's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    CodeCommitted,
    AuditSubmitted,
    AuditPassed,
    AuditRejected,
    AuditDelayed,
    AuditWithdrawn,
    CodeReleased,
    CodeRolledBack,
    VisitStatusChanged,
    MiniProgramAuthorized,
    MiniProgramUnauthorized,
    MiniProgramOwnerChanged,
    CodeGrayReleased,
    CodeGrayReverted,
    BatchStarted,
    BatchCompleted,
    HostingStarted,
    HostingEnded,
    CodeBuildFailed,
}

const ALL: [EventKind; 19] = [
    EventKind::CodeCommitted,
    EventKind::AuditSubmitted,
    EventKind::AuditPassed,
    EventKind::AuditRejected,
    EventKind::AuditDelayed,
    EventKind::AuditWithdrawn,
    EventKind::CodeReleased,
    EventKind::CodeRolledBack,
    EventKind::VisitStatusChanged,
    EventKind::MiniProgramAuthorized,
    EventKind::MiniProgramUnauthorized,
    EventKind::MiniProgramOwnerChanged,
    EventKind::CodeGrayReleased,
    EventKind::CodeGrayReverted,
    EventKind::BatchStarted,
    EventKind::BatchCompleted,
    EventKind::HostingStarted,
    EventKind::HostingEnded,
    EventKind::CodeBuildFailed,
];

impl EventKind {
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::CodeCommitted => "CodeCommitted",
            EventKind::AuditSubmitted => "AuditSubmitted",
            EventKind::AuditPassed => "AuditPassed",
            EventKind::AuditRejected => "AuditRejected",
            EventKind::AuditDelayed => "AuditDelayed",
            EventKind::AuditWithdrawn => "AuditWithdrawn",
            EventKind::CodeReleased => "CodeReleased",
            EventKind::CodeRolledBack => "CodeRolledBack",
            EventKind::VisitStatusChanged => "VisitStatusChanged",
            EventKind::MiniProgramAuthorized => "MiniProgramAuthorized",
            EventKind::MiniProgramUnauthorized => "MiniProgramUnauthorized",
            EventKind::MiniProgramOwnerChanged => "MiniProgramOwnerChanged",
            EventKind::CodeGrayReleased => "CodeGrayReleased",
            EventKind::CodeGrayReverted => "CodeGrayReverted",
            EventKind::BatchStarted => "BatchStarted",
            EventKind::BatchCompleted => "BatchCompleted",
            EventKind::HostingStarted => "HostingStarted",
            EventKind::HostingEnded => "HostingEnded",
            EventKind::CodeBuildFailed => "CodeBuildFailed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|k| k.detail_type() == s)
    }
}

/// An event as recorded in a mini-program's history and published on the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub component: String,
    /// Empty for events of the whole component (a batch's).
    pub ma_app_id: String,
    /// When it happened, in milliseconds (WeChat's CreateTime for pushed events, so a retried push maps to the
    /// same event).
    pub at_ms: i64,
    /// Kind-specific fields (docs/events.md).
    pub data: Value,
}

impl Event {
    pub fn new(kind: EventKind, component: &str, ma_app_id: &str, at_ms: i64, data: Value) -> Self {
        Self {
            kind,
            component: component.to_owned(),
            ma_app_id: ma_app_id.to_owned(),
            at_ms,
            data,
        }
    }

    /// Stable across retries and republishing: consumers deduplicate on it.
    pub fn id(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.component,
            self.ma_app_id,
            self.at_ms,
            self.kind.detail_type()
        )
    }

    /// The EventBridge `detail`.
    pub fn detail(&self) -> Value {
        json!({
            "schemaVersion": 1,
            "eventId": self.id(),
            "componentAppid": self.component,
            "maAppId": (!self.ma_app_id.is_empty()).then_some(&self.ma_app_id),
            "occurredAt": self.at_ms,
            "data": self.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_detail_type() {
        for kind in ALL {
            assert_eq!(EventKind::parse(kind.detail_type()), Some(kind));
        }
        assert_eq!(EventKind::parse("Unknown"), None);
    }

    #[test]
    fn detail_names_the_mini_program_and_is_stable() {
        let e = Event::new(
            EventKind::AuditRejected,
            "wxcomp",
            "wxma",
            1_700_000_000_000,
            json!({"reason": "blurry"}),
        );
        let d = e.detail();
        assert_eq!(d["componentAppid"], "wxcomp");
        assert_eq!(d["maAppId"], "wxma");
        assert_eq!(d["data"]["reason"], "blurry");
        assert_eq!(d["eventId"], e.clone().id());
        assert_ne!(
            e.id(),
            Event::new(EventKind::AuditPassed, "wxcomp", "wxma", e.at_ms, json!({})).id()
        );
    }
}
