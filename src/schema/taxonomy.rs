//! The event taxonomy as data: which event types exist, what each must carry, and which
//! semantic role (purchase, add to cart, …) each plays, so reports are written once against
//! roles and work for any naming scheme.

use std::collections::BTreeMap;

use super::types::ChType;

/// Semantic roles reports are written against.
pub const ROLE_NAMES: [&str; 18] = [
    "page_view",
    "view_item_list",
    "view_item",
    "search",
    "add_to_wishlist",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "apply_coupon",
    "add_payment_info",
    "purchase",
    "payment_captured",
    "refund",
    "share",
    "rate",
    "spend_credits",
    "campaign_touch",
];

/// Built-in alias sets for the naming schemes of other trackers. Each maps a foreign event name
/// to the role whose event it stands for; ingest stores the canonical name.
pub const PRESETS: &[(&str, &[(&str, &str)])] = &[
    (
        // snake_case past tense, as in the taxonomy-and-recipes guide
        "recipes",
        &[
            ("viewed_product", "view_item"),
            ("viewed_collection", "view_item_list"),
            ("searched", "search"),
            ("added_to_cart", "add_to_cart"),
            ("removed_from_cart", "remove_from_cart"),
            ("started_checkout", "begin_checkout"),
            ("applied_discount", "apply_coupon"),
            ("completed_checkout", "purchase"),
            ("refunded", "refund"),
            ("reviewed_product", "rate"),
        ],
    ),
    (
        // dotted object.action, as in the commerce analytics module
        "dotted",
        &[
            ("page.viewed", "page_view"),
            ("product.viewed", "view_item"),
            ("cart.item_added", "add_to_cart"),
            ("cart.item_removed", "remove_from_cart"),
            ("checkout.started", "begin_checkout"),
            ("order.completed", "purchase"),
            ("payment.captured", "payment_captured"),
            ("order.refunded", "refund"),
        ],
    ),
    (
        // Segment's e-commerce spec, Title Case
        "segment",
        &[
            ("Product List Viewed", "view_item_list"),
            ("Products Searched", "search"),
            ("Product Viewed", "view_item"),
            ("Product Added", "add_to_cart"),
            ("Product Removed", "remove_from_cart"),
            ("Product Added to Wishlist", "add_to_wishlist"),
            ("Cart Viewed", "view_cart"),
            ("Checkout Started", "begin_checkout"),
            ("Coupon Applied", "apply_coupon"),
            ("Payment Info Entered", "add_payment_info"),
            // The journey seed's step "after the payment information has been entered".
            ("Checkout Step Completed", "add_payment_info"),
            ("Order Completed", "purchase"),
            ("Order Refunded", "refund"),
            ("Product Shared", "share"),
            ("Product Reviewed", "rate"),
        ],
    ),
];

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Taxonomy {
    /// The table events are stored in and the columns that hold the type and free properties.
    pub table: String,
    pub event_column: String,
    pub properties_column: String,
    pub events: Vec<EventType>,
    /// Role → event names that play it (from `role:` on events and the `roles:` mapping).
    pub roles: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    /// Columns of the events table that must be present and non-empty.
    pub required: Vec<String>,
    pub optional: Vec<String>,
    pub properties: Vec<Property>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Property {
    pub name: String,
    pub ty: ChType,
    pub required: bool,
    /// A property promoted to its own column instead of the properties map.
    pub column: Option<String>,
    pub description: Option<String>,
}

impl Taxonomy {
    /// The event type a name (canonical or alias) refers to.
    pub fn event(&self, name: &str) -> Option<&EventType> {
        self.events.iter().find(|e| e.name == name).or_else(|| {
            self.events
                .iter()
                .find(|e| e.aliases.iter().any(|a| a == name))
        })
    }

    /// Event names playing a role (empty when the schema maps none).
    pub fn events_for(&self, role: &str) -> &[String] {
        self.roles.get(role).map_or(&[], Vec::as_slice)
    }
}
