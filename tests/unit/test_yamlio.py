"""wizard.yamlio, the one ruamel.yaml setup: indentation detection, byte-exact round trips of the
guide's files (comments, preamble, quotes), plain loading and the key-by-key managed merge."""

from __future__ import annotations

import pytest

from wizard import yamlio

STYLE_A = """\
# manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
spec:
  ingress:
  # Allow the Kubernetes API
  - fromEntities:
    - world
    toPorts:
    - ports:
      - port: "6443"
        protocol: "TCP"
"""

STYLE_B = """\
spec:
  ingress:
    # Allow the Kubernetes API
    - fromEntities:
        - world
      toPorts:
        - ports:
            - port: "6443"
              protocol: "TCP"
"""


def test_detects_both_indentation_styles_of_the_guide() -> None:
    assert yamlio.detect_indent(STYLE_A) == yamlio.UNINDENTED
    assert yamlio.detect_indent(STYLE_B) == yamlio.INDENTED
    assert yamlio.detect_indent("a: 1\nb: 2\n") == yamlio.INDENTED  # no sequence: the default


@pytest.mark.parametrize("text", [STYLE_A, STYLE_B], ids=["unindented", "indented"])
def test_round_trip_is_byte_exact(text: str) -> None:
    doc = yamlio.parse(text, source="fw.yaml")
    assert yamlio.render(doc) == text


def test_the_path_comment_before_the_first_document_is_kept_as_a_preamble() -> None:
    doc = yamlio.parse(STYLE_A)
    assert doc.preamble.startswith("# manifests/infrastructure") and doc.explicit_start
    doc.docs[0]["spec"]["ingress"].append({"fromEntities": ["cluster"]})
    out = yamlio.render(doc)
    assert out.startswith(doc.preamble + "---\n") and "- cluster" in out


def test_invalid_yaml_names_the_file() -> None:
    with pytest.raises(ValueError, match=r"^broken\.yaml is not valid YAML"):
        yamlio.parse("a: [1, 2\n", source="broken.yaml")


def test_load_plain_gives_plain_objects_and_skips_empty_documents() -> None:
    docs = yamlio.load_plain("---\na: 1\n---\n---\nb: [x]\n")
    assert docs == [{"a": 1}, {"b": ["x"]}]
    assert type(docs[0]) is dict


def test_merge_managed_sets_our_keys_and_keeps_the_users_with_their_comments() -> None:
    existing = yamlio.parse(
        "spec:\n  values:\n    # the user's own setting\n    replicas: 3\n    controller:\n      kind: Deployment\n"
    )
    ours = {"spec": {"values": {"controller": {"kind": "DaemonSet", "hostNetwork": True}}}}
    yamlio.merge_managed(existing.docs[0], ours)
    out = yamlio.render(existing)
    assert "# the user's own setting\n    replicas: 3" in out  # the comment stays with its key
    assert "kind: DaemonSet" in out and "hostNetwork: true" in out
    before = out
    yamlio.merge_managed(existing.docs[0], ours)
    assert yamlio.render(existing) == before  # a second merge changes nothing


def test_find_doc_by_kind_and_name() -> None:
    docs = [{"kind": "HelmRepository", "metadata": {"name": "a"}}, {"kind": "HelmRelease", "metadata": {"name": "b"}}]
    assert yamlio.find_doc(docs, "HelmRelease") is docs[1]
    assert yamlio.find_doc(docs, "HelmRelease", "x") is None
    assert yamlio.to_plain(yamlio.parse("a: !!int '1'\nb: yes\n").docs[0]) in (
        {"a": 1, "b": "yes"},
        {"a": 1, "b": True},
    )


# -- comments stay attached to the key they precede (issue 19: adoption edits the user's files) ----------
ADOPTED = """\
spec:
  values:
    # The CRDs come with the chart.
    installCRDs: true
    # Talk to public resolvers for the DNS-01 self-check.
    podDnsPolicy: None
    podDnsConfig:
      nameservers:
        - 1.1.1.1
    # Otherwise helm will time out waiting for a load balancer.
    service:
      enabled: false
  # How often Flux reconciles.
  interval: 5m
"""


def _adopted() -> yamlio.YamlDoc:
    doc = yamlio.parse(ADOPTED, source="x.yaml")
    assert yamlio.attach_comments(doc)
    assert yamlio.render(doc) == ADOPTED  # attaching alone changes no byte
    return doc


def test_deleting_a_key_takes_its_own_comment_and_leaves_the_next_keys() -> None:
    doc = _adopted()
    assert yamlio.delete_key(doc.docs[0]["spec"]["values"], "installCRDs")
    text = yamlio.render(doc)
    assert "The CRDs come with the chart" not in text
    assert text.startswith(
        "spec:\n  values:\n    # Talk to public resolvers for the DNS-01 self-check.\n    podDnsPolicy:"
    )


def test_a_key_added_to_a_mapping_lands_after_its_last_key_not_between_a_comment_and_its_key() -> None:
    doc = _adopted()
    values = doc.docs[0]["spec"]["values"]
    values["podDnsConfig"]["nameservers"].append("8.8.8.8")
    values["service"]["type"] = "ClusterIP"  # appended to the last mapping before `interval`'s comment
    values["crds"] = yamlio.CommentedMap(enabled=True)
    text = yamlio.render(doc)
    assert "        - 8.8.8.8\n    # Otherwise helm will time out waiting for a load balancer.\n    service:\n" in text
    assert "      type: ClusterIP\n" in text
    assert "    crds:\n      enabled: true\n  # How often Flux reconciles.\n  interval: 5m\n" in text


def test_merge_managed_brings_the_assets_comment_above_a_new_key() -> None:
    doc = _adopted()
    asset = yamlio.parse("values:\n  # keep: the CRDs survive an uninstall.\n  crds:\n    keep: true\n", source="asset")
    assert yamlio.attach_comments(asset)
    yamlio.merge_managed(doc.docs[0]["spec"], asset.docs[0])
    text = yamlio.render(doc)
    assert (
        "    # keep: the CRDs survive an uninstall.\n    crds:\n      keep: true\n  # How often Flux reconciles.\n"
        in text
    )
    assert "    # Otherwise helm will time out waiting for a load balancer.\n    service:\n" in text
