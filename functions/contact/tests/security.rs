//! Issue 9's defences on the mirror path: the contact and consent functions, built from
//! settings as a cold start builds them, in every request shape. A refused request leaves the
//! contact mirror and the dedup table untouched.

use engage_testkit::*;
use engage_webhooks::{
    ConfigError, Family, MirrorFunction, ALLOWED_SOURCE_IPS, CONSENT_SIGNING_SECRETS,
    CONTACTS_TABLE, CONTACT_SIGNING_SECRETS, CUSTOM_HEADER, CUSTOM_HEADER_TOKENS, DEDUP_TABLE,
    SIGNING_SECRETS, TENANTS,
};

const CONTACT: Family = Family::Contact;
const CONSENT: Family = Family::Consent;
const SVIX_EU: &str = "52.215.16.239 54.216.8.72 63.33.109.123 2a05:d028:17:8000::/56";
const SVIX_IP: &str = "54.216.8.72";
const SVIX_IPV6: &str = "2a05:d028:17:80aa::1";
const STRANGER: &str = "2001:db8:17:8000::1";
const CONTACT_SECRET: &str = "whsec_Y29udGFjdC1lbmRwb2ludC1zZWNyZXQtMDAwMDAw";
const CONSENT_SECRET: &str = "whsec_Y29uc2VudC1lbmRwb2ludC1zZWNyZXQtMDAwMDAw";
const TOKEN: &str = "mirror-token-5e6f7a8b9c0d1a2b3c4d";

async fn function(
    rig: &MirrorRig,
    family: Family,
    extra: &[(&str, &str)],
) -> Result<MirrorFunction, ConfigError> {
    let base = [
        (DEDUP_TABLE, rig.dedup_table.as_str()),
        (CONTACTS_TABLE, rig.contacts_table.as_str()),
        (SIGNING_SECRETS, SIGNING_SECRET),
    ];
    MirrorFunction::from_settings(family, &settings_with(&base, extra)).await
}

async fn built(rig: &MirrorRig, family: Family, extra: &[(&str, &str)]) -> MirrorFunction {
    function(rig, family, extra).await.expect("valid settings")
}

/// `body` from `ip`, signed with `secret`, is processed by `f`.
async fn assert_first_delivery(
    f: &MirrorFunction,
    shape: Shape,
    ip: &str,
    secret: &str,
    body: &str,
) {
    assert_eq!(
        send_signed(f, shape, ip, secret, body, &[]).await,
        processed()
    );
}

async fn assert_untouched(rig: &MirrorRig) {
    assert_eq!(
        item_count(&rig.sdk, &rig.contacts_table).await,
        0,
        "the mirror is untouched"
    );
    assert_eq!(
        item_count(&rig.sdk, &rig.dedup_table).await,
        0,
        "no dedup record"
    );
}

#[tokio::test]
async fn the_mirror_is_untouched_by_requests_from_other_addresses() {
    let rig = MirrorRig::new().await;
    let contact = built(&rig, CONTACT, &[(ALLOWED_SOURCE_IPS, SVIX_EU)]).await;
    let consent = built(&rig, CONSENT, &[(ALLOWED_SOURCE_IPS, SVIX_EU)]).await;
    let (created, _) = contact_envelope("contact.created", "c-ip-1");
    let (email, _) = contact_envelope("contact.acceptsEmail.changed", "c-ip-1");
    for shape in Shape::ALL {
        for ip in [STRANGER, "2a05:d028:17:7fff::1", "52.215.16.240"] {
            let xff = [("X-Forwarded-For", SVIX_IP)];
            assert_eq!(
                send_signed(&contact, shape, ip, SIGNING_SECRET, &created, &xff).await,
                refused(403, "source_ip_not_allowed")
            );
            assert_eq!(
                send_signed(&consent, shape, ip, SIGNING_SECRET, &email, &xff).await,
                refused(403, "source_ip_not_allowed")
            );
        }
    }
    assert_untouched(&rig).await;
    // From Svix (IPv4 and inside the IPv6 range), the same events are first deliveries.
    assert_first_delivery(
        &contact,
        Shape::ApiGatewayHttp,
        SVIX_IP,
        SIGNING_SECRET,
        &created,
    )
    .await;
    assert_first_delivery(
        &consent,
        Shape::FunctionUrl,
        SVIX_IPV6,
        SIGNING_SECRET,
        &email,
    )
    .await;
    let item = rig.contact("c-ip-1").await.expect("the contact");
    assert!(item.contains_key("profile") && item.contains_key("acceptsEmail"));
}

#[tokio::test]
async fn the_mirror_needs_the_custom_header_when_it_is_on() {
    let rig = MirrorRig::new().await;
    let on = [
        (CUSTOM_HEADER, "X-Engage-Token"),
        (CUSTOM_HEADER_TOKENS, TOKEN),
    ];
    let contact = built(&rig, CONTACT, &on).await;
    let (deleted, _) = contact_envelope("contact.deleted", "c-hdr-1");
    let mut near = TOKEN.as_bytes().to_vec();
    *near.last_mut().unwrap() ^= 0x02;
    let near = String::from_utf8(near).unwrap();
    for shape in Shape::ALL {
        assert_eq!(
            send_signed(&contact, shape, SVIX_IP, SIGNING_SECRET, &deleted, &[]).await,
            refused(401, "invalid_custom_header")
        );
        assert_eq!(
            send_signed(
                &contact,
                shape,
                SVIX_IP,
                SIGNING_SECRET,
                &deleted,
                &[("X-Engage-Token", &near)],
            )
            .await,
            refused(401, "invalid_custom_header")
        );
    }
    assert_untouched(&rig).await;
    assert_eq!(
        send_signed(
            &contact,
            Shape::FunctionUrl,
            SVIX_IP,
            SIGNING_SECRET,
            &deleted,
            &[("x-ENGAGE-token", TOKEN)],
        )
        .await,
        processed()
    );
    // Off: no header needed.
    let off = built(&rig, CONTACT, &[]).await;
    let (created, _) = contact_envelope("contact.created", "c-hdr-2");
    assert_first_delivery(
        &off,
        Shape::ApiGatewayHttp,
        STRANGER,
        SIGNING_SECRET,
        &created,
    )
    .await;
}

#[tokio::test]
async fn another_tenants_event_never_reaches_the_mirror() {
    let rig = MirrorRig::new().await;
    let contact = built(&rig, CONTACT, &[(TENANTS, "otherRetailer")]).await;
    let consent = built(&rig, CONSENT, &[(TENANTS, "otherRetailer")]).await;
    let (created, _) = contact_envelope("contact.created", "c-tenant-1");
    let (consented, _) = contact_envelope("contact.consent.changed", "c-tenant-1");
    for shape in Shape::ALL {
        assert_eq!(
            deliver(&contact, shape, &created).await,
            refused(403, "tenant_not_allowed")
        );
        assert_eq!(
            deliver(&consent, shape, &consented).await,
            refused(403, "tenant_not_allowed")
        );
    }
    assert_untouched(&rig).await;
    let contact = built(&rig, CONTACT, &[(TENANTS, "otherRetailer,myTenantName")]).await;
    assert_eq!(
        deliver(&contact, Shape::FunctionUrl, &created).await,
        processed()
    );
}

#[tokio::test]
async fn contact_and_consent_each_accept_only_their_own_endpoints_secret() {
    let rig = MirrorRig::new().await;
    let own = [
        (CONTACT_SIGNING_SECRETS, CONTACT_SECRET),
        (CONSENT_SIGNING_SECRETS, CONSENT_SECRET),
    ];
    let contact = built(&rig, CONTACT, &own).await;
    let consent = built(&rig, CONSENT, &own).await;
    let (created, _) = contact_envelope("contact.created", "c-sec-1");
    let (sms, _) = contact_envelope("contact.acceptsSms.changed", "c-sec-1");
    for shape in Shape::ALL {
        for other in [CONSENT_SECRET, SIGNING_SECRET] {
            assert_eq!(
                send_signed(&contact, shape, SVIX_IP, other, &created, &[]).await,
                refused(401, "invalid_signature")
            );
        }
        for other in [CONTACT_SECRET, SIGNING_SECRET] {
            assert_eq!(
                send_signed(&consent, shape, SVIX_IP, other, &sms, &[]).await,
                refused(401, "invalid_signature")
            );
        }
    }
    assert_untouched(&rig).await;
    assert_first_delivery(
        &contact,
        Shape::FunctionUrl,
        SVIX_IP,
        CONTACT_SECRET,
        &created,
    )
    .await;
    assert_first_delivery(
        &consent,
        Shape::ApiGatewayHttp,
        SVIX_IP,
        CONSENT_SECRET,
        &sms,
    )
    .await;

    // Only the shared list: either function accepts an event signed with it.
    let contact = built(&rig, CONTACT, &[]).await;
    let consent = built(&rig, CONSENT, &[(CONTACT_SIGNING_SECRETS, CONTACT_SECRET)]).await;
    let (updated, _) = contact_envelope("contact.updated", "c-sec-2");
    let (postal, _) = contact_envelope("contact.acceptsPostal.changed", "c-sec-2");
    for shape in [Shape::ApiGatewayHttp, Shape::FunctionUrl] {
        let (updated, _) = contact_envelope("contact.updated", &unique("c"));
        assert_eq!(deliver(&contact, shape, &updated).await, processed());
    }
    assert_eq!(
        deliver(&contact, Shape::FunctionUrl, &updated).await,
        processed()
    );
    assert_eq!(
        deliver(&consent, Shape::FunctionUrl, &postal).await,
        processed()
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_utf8_is_400_invalid_body_and_the_mirror_is_untouched() {
    let rig = MirrorRig::new().await;
    let contact = built(&rig, CONTACT, &[]).await;
    let (created, _) = contact_envelope("contact.created", "c-utf8-1");
    let mut body = created.into_bytes();
    let at = body
        .windows(8)
        .position(|w| w == b"c-utf8-1")
        .expect("the contact id");
    body[at + 7] = 0xc3; // a lead byte with no continuation
    for shape in Shape::ALL {
        let json = [("content-type", "application/json")];
        assert_eq!(
            send_signed(&contact, shape, SVIX_IP, SIGNING_SECRET, &body, &json).await,
            refused(400, "invalid_body")
        );
    }
    assert_untouched(&rig).await;
}
