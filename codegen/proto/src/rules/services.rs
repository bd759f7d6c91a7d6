//! Service and RPC rules: services by full name, RPCs by name.

use prost_types::MethodDescriptorProto;

use super::{Check, Declared, Rule, child, file_no_delete, rule};
use crate::index::{Index, ServiceEntry, tag};

const ALL: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

pub fn rules() -> Vec<Rule> {
    vec![
        rule(
            "SERVICE_NO_DELETE",
            &["FILE"],
            "A service may not disappear from its file.",
            service_no_delete,
        ),
        rule(
            "RPC_NO_DELETE",
            &["FILE", "PACKAGE"],
            "An RPC may not disappear from its service.",
            rpc_no_delete,
        ),
        rule(
            "RPC_SAME_CLIENT_STREAMING",
            ALL,
            "An RPC keeps its client streaming.",
            rpc_same_client_streaming,
        ),
        rule(
            "RPC_SAME_SERVER_STREAMING",
            ALL,
            "An RPC keeps its server streaming.",
            rpc_same_server_streaming,
        ),
        rule(
            "RPC_SAME_REQUEST_TYPE",
            ALL,
            "An RPC keeps its request message type.",
            rpc_same_request_type,
        ),
        rule(
            "RPC_SAME_RESPONSE_TYPE",
            ALL,
            "An RPC keeps its response message type.",
            rpc_same_response_type,
        ),
        rule(
            "RPC_SAME_IDEMPOTENCY_LEVEL",
            ALL,
            "An RPC keeps its idempotency_level option.",
            rpc_same_idempotency_level,
        ),
    ]
}

fn service_no_delete(check: &mut Check<'_, '_>) {
    // buf points at the file, never at a declaration, for services.
    file_no_delete(check, "service", |index| {
        index
            .services
            .values()
            .map(|s| Declared {
                full_name: s.full_name.clone(),
                file: s.file,
                path: s.path.clone(),
                parent: None,
            })
            .collect()
    });
}

/// Each RPC present on both sides: (new service, old method, new method, new method path).
fn method_pairs<'a, 'm>(
    old: &'a Index<'m>,
    new: &'a Index<'m>,
) -> Vec<(
    &'a ServiceEntry<'m>,
    &'m MethodDescriptorProto,
    &'m MethodDescriptorProto,
    Vec<i32>,
)> {
    let mut pairs = Vec::new();
    for (name, old_service) in &old.services {
        let Some(new_service) = new.services.get(name) else {
            continue;
        };
        for m in &old_service.desc.method {
            if let Some((i, n)) = new_service
                .desc
                .method
                .iter()
                .enumerate()
                .find(|(_, n)| n.name == m.name)
            {
                pairs.push((
                    new_service,
                    m,
                    n,
                    child(&new_service.path, &[tag::SERVICE_METHOD, i as i32]),
                ));
            }
        }
    }
    pairs
}

fn rpc_no_delete(check: &mut Check<'_, '_>) {
    let (old_index, new_index) = (check.old, check.new);
    for (name, old) in &old_index.services {
        let Some(new) = new_index.services.get(name) else {
            continue;
        };
        for (i, m) in old.desc.method.iter().enumerate() {
            if !new.desc.method.iter().any(|n| n.name == m.name) {
                let old_path = child(&old.path, &[tag::SERVICE_METHOD, i as i32]);
                check.report_deleted(
                    new.file,
                    &new.path,
                    old.file,
                    &old_path,
                    format!("rpc {name}.{} was deleted", m.name()),
                );
            }
        }
    }
}

fn streaming_rule(check: &mut Check<'_, '_>, side: &str, get: fn(&MethodDescriptorProto) -> bool) {
    for (service, old, new, path) in method_pairs(check.old, check.new) {
        if get(old) != get(new) {
            let msg = format!(
                "rpc {}.{} changed {side} streaming from {} to {}",
                service.full_name,
                new.name(),
                get(old),
                get(new)
            );
            check.report(service.file, &path, msg);
        }
    }
}

fn rpc_same_client_streaming(check: &mut Check<'_, '_>) {
    streaming_rule(check, "client", MethodDescriptorProto::client_streaming);
}

fn rpc_same_server_streaming(check: &mut Check<'_, '_>) {
    streaming_rule(check, "server", MethodDescriptorProto::server_streaming);
}

fn type_rule(
    check: &mut Check<'_, '_>,
    what: &str,
    field: i32,
    get: fn(&MethodDescriptorProto) -> &str,
) {
    for (service, old, new, path) in method_pairs(check.old, check.new) {
        let (o, n) = (
            get(old).trim_start_matches('.'),
            get(new).trim_start_matches('.'),
        );
        if o != n {
            let msg = format!(
                "rpc {}.{} changed {what} type from \"{o}\" to \"{n}\"",
                service.full_name,
                new.name()
            );
            let type_path = child(&path, &[field]);
            check.report_first(service.file, &[&type_path, &path], msg);
        }
    }
}

fn rpc_same_request_type(check: &mut Check<'_, '_>) {
    type_rule(
        check,
        "request",
        tag::METHOD_INPUT,
        MethodDescriptorProto::input_type,
    );
}

fn rpc_same_response_type(check: &mut Check<'_, '_>) {
    type_rule(
        check,
        "response",
        tag::METHOD_OUTPUT,
        MethodDescriptorProto::output_type,
    );
}

fn rpc_same_idempotency_level(check: &mut Check<'_, '_>) {
    const IDEMPOTENCY_LEVEL: i32 = 34;
    let level = |m: &MethodDescriptorProto| {
        m.options
            .as_ref()
            .map(|o| o.idempotency_level())
            .unwrap_or_default()
            .as_str_name()
    };
    for (service, old, new, path) in method_pairs(check.old, check.new) {
        if level(old) != level(new) {
            let msg = format!(
                "rpc {}.{} changed idempotency_level from {} to {}",
                service.full_name,
                new.name(),
                level(old),
                level(new)
            );
            // Where the option was removed there is nothing to point at but the file, as in buf.
            check.report(
                service.file,
                &child(&path, &[tag::METHOD_OPTIONS, IDEMPOTENCY_LEVEL]),
                msg,
            );
        }
    }
}
