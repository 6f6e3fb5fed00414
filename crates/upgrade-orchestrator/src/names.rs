//! The names users know the VCF components by, for logs, notifications and views.
//!
//! SDDC Manager's API names a component by its type (`NSX_T_MANAGER`, `VCENTER`, `HOST`,
//! `ESX_HOST`, `SDDC_MANAGER`, `SDDC_MANAGER_VCF`: the `componentType`/`bundle.components[].type`
//! values and the release BOM names of the VCF 5.2.1 and 9.0.2 specs). The product's own
//! documentation and UI call them NSX, vCenter, ESXi and SDDC Manager; types this list does not
//! know are shown as VCF sent them.

use std::borrow::Cow;

/// The public name of a component type (`NSX_T_MANAGER` → `NSX`); unknown types unchanged.
pub fn component_name(kind: &str) -> Cow<'_, str> {
    let norm: String = kind
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let name = match norm.as_str() {
        "NSXTMANAGER" | "NSXMANAGER" | "NSXT" | "NSX" => "NSX",
        "VCENTER" | "VCENTERSERVER" => "vCenter",
        "HOST" | "ESXHOST" | "ESXI" | "ESX" => "ESXi",
        "SDDCMANAGER" | "SDDCMANAGERVCF" => "SDDC Manager",
        "VRSLCM" => "VMware Aria Suite Lifecycle",
        _ => return Cow::Borrowed(kind),
    };
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_types_read_as_public_names() {
        for (kind, name) in [
            ("NSX_T_MANAGER", "NSX"),
            ("NSXT_MANAGER", "NSX"),
            ("VCENTER", "vCenter"),
            ("HOST", "ESXi"),
            ("ESX_HOST", "ESXi"),
            ("ESXI", "ESXi"),
            ("SDDC_MANAGER", "SDDC Manager"),
            ("SDDC_MANAGER_VCF", "SDDC Manager"),
            ("WITNESS_HOST_NEW", "WITNESS_HOST_NEW"),
            ("", ""),
        ] {
            assert_eq!(component_name(kind), name, "{kind}");
        }
    }
}
