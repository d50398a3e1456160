"""`make runtime-deps` warms what a first synth would fill one after the other (tools/warm_caches.py)."""

from __future__ import annotations

from tools.warm_caches import SITE_PACKAGES, binding_sources, jsii_packages


def test_every_jsii_package_the_app_loads_has_its_tarball_unpacked() -> None:
    wanted = {"aws_cdk", "constructs", "cdk_nag", "cdk_monitoring_constructs", "aws_cdk.lambda_layer_kubectl_v36"}
    assert wanted <= set(jsii_packages())


def test_the_bindings_the_app_imports_are_compiled_but_not_what_the_jsii_loads_compile() -> None:
    """The loads import each package's top module under -O (compiling it); the rest come from the app's imports."""
    sources = {"/".join(path.relative_to(SITE_PACKAGES).parts) for path in binding_sources()}
    assert {"aws_cdk/aws_ec2/__init__.py", "aws_cdk/aws_iam/__init__.py", "aws_cdk/aws_eks_v2/__init__.py"} <= sources
    assert "aws_cdk/lambda_layer_kubectl_v36/__init__.py" not in sources  # a jsii package imported by name
