//! `deploy/element/config.json`, Element Web's configuration for a Schulhof school, uses only
//! options Element documents, matches the example server configuration, and every key is
//! explained in the admin guide.

use schulhof_server::config::{Config, EncryptByDefault};
use serde_json::Value;

const ELEMENT_CONFIG: &str = include_str!("../../../deploy/element/config.json");
const SERVER_CONFIG: &str = include_str!("../../../config/schulhof.example.toml");
const GUIDE: &str = include_str!("../../../docs/admin/betrieb.md");

/// Top-level options of Element Web's `config.json` as its documentation (`docs/config.md`)
/// and its `IConfigOptions` name them, as far as this file uses them.
const ELEMENT_OPTIONS: &[&str] = &[
    "default_server_config",
    "disable_custom_urls",
    "disable_guests",
    "disable_3pid_login",
    "brand",
    "permalink_prefix",
    "default_country_code",
    "default_federate",
    "show_labs_settings",
    "room_directory",
    "integrations_ui_url",
    "integrations_rest_url",
    "integrations_widgets_urls",
    "jitsi",
    "element_call",
    "report_event",
    "setting_defaults",
];

/// Settings of Element's `Settings.tsx` that may be set at the config level, as used here.
const ELEMENT_SETTINGS: &[&str] = &[
    "language",
    "UIFeature.identityServer",
    "UIFeature.thirdPartyId",
    "UIFeature.registration",
    "UIFeature.passwordReset",
    "UIFeature.deactivate",
    "UIFeature.feedback",
    "UIFeature.voip",
    "UIFeature.widgets",
    "UIFeature.locationSharing",
    "UIFeature.shareSocial",
];

fn element() -> Value {
    serde_json::from_str(ELEMENT_CONFIG).expect("deploy/element/config.json is JSON")
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn only_options_element_knows() {
    let element = element();
    for key in keys(&element) {
        assert!(
            ELEMENT_OPTIONS.contains(&key),
            "Element has no option {key}"
        );
    }
    for key in keys(&element["setting_defaults"]) {
        assert!(
            ELEMENT_SETTINGS.contains(&key),
            "Element has no setting {key}"
        );
    }
}

#[test]
fn the_schools_server_only_and_nothing_of_third_parties() {
    let element = element();
    let server = Config::parse(SERVER_CONFIG).expect("example configuration");
    let homeserver = &element["default_server_config"]["m.homeserver"];
    assert_eq!(homeserver["server_name"], server.server_name.as_str());
    assert_eq!(
        homeserver["base_url"],
        server.public_baseurl.trim_end_matches('/')
    );
    assert_eq!(element["disable_custom_urls"], true);
    assert_eq!(element["disable_guests"], true);
    assert_eq!(element["setting_defaults"]["language"], "de");
    // No identity server, integration manager, analytics or bug reports.
    assert!(element["default_server_config"]
        .get("m.identity_server")
        .is_none());
    for key in ["posthog", "bug_report_endpoint_url", "map_style_url"] {
        assert!(element.get(key).is_none(), "{key}");
    }
    for key in [
        "integrations_ui_url",
        "integrations_rest_url",
        "integrations_widgets_urls",
    ] {
        assert!(element[key].is_null(), "{key}");
    }
    for url in [
        &element["jitsi"]["preferred_domain"],
        &element["element_call"]["url"],
        &element["permalink_prefix"],
    ] {
        let url = url.as_str().expect("a string");
        assert!(url.contains(&server.server_name), "{url}");
    }
}

#[test]
fn encryption_defaults_match_the_server() {
    let element = element();
    let server = Config::parse(SERVER_CONFIG).expect("example configuration");
    let encrypts = server.encryption.allow
        && server.encryption.enabled_by_default_for != EncryptByDefault::Off;
    assert_eq!(
        element["default_server_config"]["io.element.e2ee"]["default"],
        encrypts
    );
}

#[test]
fn the_guide_explains_every_key() {
    let element = element();
    let settings = keys(&element["setting_defaults"]);
    for key in keys(&element).into_iter().chain(settings) {
        assert!(
            GUIDE.contains(&format!("`{key}`")),
            "docs/admin/betrieb.md does not explain {key}"
        );
    }
    assert!(GUIDE.contains("deploy/element/config.json"));
}
