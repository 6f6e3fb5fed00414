#!/usr/bin/env python3
"""Drives a running vcf-sim with the vendor's official Python SDK (vmware-sddc-manager).

The simulator and the product's client were written from the same reading of the SDDC
Manager API; the vendor's generated client is a second, independent reading. This script
logs in with the SDK and calls, through the SDK, every SDDC Manager operation the product
uses, then upgrades one domain from start to finish, all with the SDK's own request
models and response deserialisation.

It fails (exit status 1), naming the operation, when the SDK cannot read an answer, or
when the simulator refuses a request the SDK built from the spec.

    python tests/sdk/drive_sim.py --url http://127.0.0.1:8443 \\
        --username admin@local --password 'VMware123!VMware123!' --domain sfo-m01

Dependencies: tests/sdk/requirements.txt (installed into a virtual environment by
tests/run.sh).
"""

import argparse
import sys
import time

import requests
from vmware.sddc_manager import model_client as m
from vmware.sddc_manager import v1_client as v1
from vmware.sddc_manager.v1 import releases_client, system_client, upgradables_client, upgrades_client
from vmware.sddc_manager.v1.releases import domains_client as release_domains
from vmware.sddc_manager.v1.system import check_sets_client
from vmware.sddc_manager.v1.tokens import access_token_client
from vmware.sddc_manager.v1.upgradables import domains_client as upgradable_domains
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.oauth import create_oauth_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory


class Failure(Exception):
    """An operation the SDK could not complete."""


# Transport errors (the SDDC Manager restarting during its own upgrade).
TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def describe(err):
    """One line for an SDK or transport error, with the vendor `Error` fields when present."""
    fields = []
    for name in ("error_code", "message", "remediation_message"):
        value = getattr(err, name, None)
        if value:
            fields.append(f"{name}={value!r}")
    data = getattr(err, "data", None)
    if data is not None:
        fields.append(f"data={data}")
    text = f"{type(err).__name__}: {err}"
    return f"{text} ({', '.join(fields)})" if fields else text


class Driver:
    """The SDK stubs against one simulator, with the operations called so far."""

    def __init__(self, url, username, password, timeout):
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        session = requests.Session()
        session.verify = False
        self.connector = get_requests_connector(session=session, msg_protocol="rest", url=self.url)
        self.config = StubConfigurationFactory.new_std_configuration(self.connector)
        self.called = []
        self.refresh_id = None
        self.access = ""
        c = self.config
        self.tokens = v1.Tokens(c)
        self.refresh = access_token_client.Refresh(c)
        self.domains = v1.Domains(c)
        self.clusters = v1.Clusters(c)
        self.hosts = v1.Hosts(c)
        self.sddc_managers = v1.SddcManagers(c)
        self.releases = v1.Releases(c)
        self.release_domains = releases_client.Domains(c)
        self.future = release_domains.FutureReleases(c)
        self.validations = release_domains.Validations(c)
        self.bundles = v1.Bundles(c)
        self.upgradables = upgradables_client.Domains(c)
        self.upgradable_clusters = upgradable_domains.Clusters(c)
        self.queries = check_sets_client.Queries(c)
        self.check_sets = system_client.CheckSets(c)
        self.upgrades = v1.Upgrades(c)
        self.prechecks = upgrades_client.Prechecks(c)
        self.tasks = v1.Tasks(c)

    def call(self, name, fn, *args, **kwargs):
        """Calls one SDK operation; a failure names it. An expired access token (401; at a
        fast time scale a token lives well under a second) is refreshed through the SDK,
        and the call made once more, as real clients do."""
        try:
            return self.once(name, fn, *args, **kwargs)
        except Failure:
            if not self.expired():
                raise
        try:
            self.refresh_token()
        except Failure:
            self.login()
        return self.once(name, fn, *args, **kwargs)

    def once(self, name, fn, *args, **kwargs):
        """Calls one SDK operation once; a failure names it."""
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # the SDK raises its own error types and plain ValueErrors
            raise Failure(f"{name}: {describe(err)}") from err
        if name not in self.called:
            self.called.append(name)
        return result

    def probe(self):
        """The status of a plain `GET /v1/domains` with the current token (not the SDK), or
        None when the connection fails."""
        try:
            return requests.get(
                f"{self.url}/v1/domains",
                headers={"Authorization": f"Bearer {self.access}"},
                verify=False,
                timeout=5,
            ).status_code
        except TRANSIENT:
            return None

    def expired(self):
        """Whether the API is up and refuses the current access token."""
        return bool(self.access) and self.probe() == 401

    def login(self):
        pair = self.once(
            "POST /v1/tokens (createToken)",
            self.tokens.create_token,
            m.TokenCreationSpec(username=self.username, password=self.password),
        )
        if not pair or not pair.access_token or not pair.refresh_token:
            raise Failure(f"POST /v1/tokens (createToken): no token pair in {pair}")
        self.refresh_id = pair.refresh_token.id
        self.access = pair.access_token
        self.connector.set_security_context(create_oauth_security_context(pair.access_token))

    def refresh_token(self):
        token = self.once(
            "PATCH /v1/tokens/access-token/refresh (refreshAccessToken)",
            self.refresh.refresh_access_token,
            self.refresh_id,
        )
        if not isinstance(token, str) or token.count(".") != 2:
            raise Failure(f"PATCH /v1/tokens/access-token/refresh: not a JWT: {token!r}")
        self.access = token
        self.connector.set_security_context(create_oauth_security_context(token))

    def restarting(self):
        """Whether the API is in the SDDC Manager's restart window: connections closed, the
        HTML 503 of nginx, or 401 for the token issued before the restart."""
        return self.probe() in (None, 401, 502, 503)

    def not_seeded(self, failure):
        """Whether `failure` is a 9.x SDDC Manager's 409 "inventory cache is not seeded"
        (recorded once in `called`). The 9.0.2 spec documents that 409 for
        `/v1/system/upgradables` only, so the SDK has no mapping for it on
        `getUpgradablesByDomain` and raises an empty `UnresolvedError`: the simulator's
        request log then tells whether the answer was that 409."""
        text = str(failure)
        if "INVENTORY_CACHE_NOT_SEEDED" not in text:
            if "getUpgradablesByDomain" not in text or "UnresolvedError" not in text:
                return False
            try:
                log = requests.get(f"{self.url}/sim/log", timeout=5).json()
            except (TRANSIENT, ValueError):
                return False
            last = [e for e in log if e["path"].startswith("/v1/upgradables/domains/")]
            if not last or last[-1]["status"] != 409:
                return False
        note = "409 (inventory cache not seeded), waited out"
        if note not in self.called:
            self.called.append(note)
        return True

    def patiently(self, name, fn, *args, **kwargs):
        """A poll that outlives the SDDC Manager's own upgrade: while the API restarts
        (see `restarting`) it waits and logs in again, like real clients do; a 9.x SDDC
        Manager's 409 "inventory cache is not seeded" after its restart is waited out too;
        any other failure fails."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn(*args, **kwargs)
            except Failure as failure:
                if time.monotonic() > deadline:
                    raise
                if self.not_seeded(failure):
                    time.sleep(0.2)
                    continue
                if not self.restarting():
                    raise
                time.sleep(0.2)
                try:
                    self.login()
                except Failure:
                    pass

    def poll(self, name, read, done, what):
        """Reads until `done(answer)`; fails after the time limit."""
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self.patiently(name, read)
            if done(answer):
                return answer
            if time.monotonic() > deadline:
                raise Failure(f"{name}: {what} not reached in {self.timeout} s (last: {answer})")
            time.sleep(0.05)


def by_name(page, name, what):
    for item in page.elements or []:
        if item.name == name:
            return item
    raise Failure(f"{what}: no {name!r} in the answer")


def drive(d, domain_name, temporary_network=None):
    d.login()
    d.refresh_token()

    # Inventory.
    domains = d.call("GET /v1/domains (getDomains)", d.domains.get_domains)
    domain = by_name(domains, domain_name, "GET /v1/domains")
    dom = d.call("GET /v1/domains/{id} (getDomain)", d.domains.get_domain, domain.id)
    assert dom.id == domain.id
    clusters = d.call("GET /v1/clusters (getClusters)", d.clusters.get_clusters)
    d.call("GET /v1/clusters?domainId= (getClusters)", d.clusters.get_clusters, domain_id=domain.id)
    d.call("GET /v1/clusters/{id} (getCluster)", d.clusters.get_cluster, clusters.elements[0].id)
    hosts = d.call("GET /v1/hosts (getHosts)", d.hosts.get_hosts)
    d.call("GET /v1/hosts/{id} (getHost)", d.hosts.get_host, hosts.elements[0].id)
    d.call("GET /v1/sddc-managers (getSddcManagers)", d.sddc_managers.get_sddc_managers)

    # Releases and the target version.
    d.call("GET /v1/releases (getReleases)", d.releases.get_releases)
    current = d.call(
        "GET /v1/releases?domainId= (getReleases)", d.releases.get_releases, domain_id=domain.id
    )
    if not current.elements:
        raise Failure(f"GET /v1/releases?domainId=: no current release for {domain_name}")
    d.call("GET /v1/releases/domains (getReleaseByDomains)", d.release_domains.get_release_by_domains)
    d.call(
        "GET /v1/releases/domains/{domainId} (getReleaseByDomain)",
        d.release_domains.get_release_by_domain,
        domain.id,
    )
    future = d.call(
        "GET /v1/releases/domains/{domainId}/future-releases (getFutureReleases)",
        d.future.get_future_releases,
        domain.id,
    )
    applicable = [r for r in future.elements or [] if r.applicability_status == "APPLICABLE"]
    if not applicable:
        raise Failure(f"getFutureReleases: nothing APPLICABLE for {domain_name}")
    target = applicable[0]
    version = target.version

    validation = d.call(
        "POST /v1/releases/domains/{domainId}/validations (validateReleaseByDomainID)",
        d.validations.validate_release_by_domain_id,
        domain.id,
        m.DomainRelease(target_version=version),
    )
    d.poll(
        "GET /v1/releases/domains/validations/{validationId} (getDomainReleaseViewValidation)",
        lambda: d.call(
            "GET /v1/releases/domains/validations/{validationId} (getDomainReleaseViewValidation)",
            d.validations.get_domain_release_view_validation,
            validation.id,
        ),
        lambda v: v.execution_status not in ("IN_PROGRESS", "CANCELLATION_IN_PROGRESS"),
        "a finished validation",
    )
    d.call(
        "PATCH /v1/releases/domains/{domainId} (updateReleaseByDomainID)",
        d.release_domains.update_release_by_domain_id,
        domain.id,
        m.DomainRelease(target_version=version),
    )
    view = d.call(
        "GET /v1/releases/domains/{domainId} (getReleaseByDomain)",
        d.release_domains.get_release_by_domain,
        domain.id,
    )
    if view.target_version != version:
        raise Failure(f"getReleaseByDomain: target {view.target_version!r}, expected {version!r}")

    # Bundles: download every bundle the domain's upgradables need.
    d.call("GET /v1/bundles (getBundles)", d.bundles.get_bundles)
    d.call(
        "GET /v1/upgradables/domains/{domainId}/clusters (getUpgradablesClusters)",
        d.upgradable_clusters.get_upgradables_clusters,
        domain.id,
    )
    upgradables = d.call(
        "GET /v1/upgradables/domains/{domainId} (getUpgradablesByDomain)",
        d.upgradables.get_upgradables_by_domain,
        domain.id,
        target_version=version,
    )
    needed = sorted({u.bundle_id for u in upgradables.elements or [] if u.bundle_id})
    if not needed:
        raise Failure("getUpgradablesByDomain: no upgradables after the target was set")
    for bundle_id in needed:
        download(d, bundle_id)

    # Check-sets: discover the resources, query with target versions, run, read the result.
    check_sets(d, domain, target)

    # Tasks.
    tasks = d.call("GET /v1/tasks (getTasks)", d.tasks.get_tasks, page_number=0, page_size=10)
    if tasks.elements:
        d.call("GET /v1/tasks/{id} (getTask)", d.tasks.get_task, tasks.elements[0].id)

    # The upgrade: the AVAILABLE upgradable, one after the other, until none is left.
    upgrade_domain(d, domain, version, temporary_network)

    # Afterwards: the domain runs the target.
    after = d.patiently(
        "GET /v1/releases?domainId= (getReleases)",
        lambda: d.call("GET /v1/releases?domainId= (getReleases)", d.releases.get_releases, domain_id=domain.id),
    )
    now = [r.version for r in after.elements or []]
    if version not in now:
        raise Failure(f"after the upgrade, {domain_name} runs {now}, expected {version}")
    d.call("GET /v1/upgrades (getUpgrades)", d.upgrades.get_upgrades)


def download(d, bundle_id):
    bundle = d.call("GET /v1/bundles/{id} (getBundle)", d.bundles.get_bundle, bundle_id)
    if bundle.download_status == "SUCCESSFUL":
        return
    task = d.call(
        "PATCH /v1/bundles/{id} (startBundleDownloadByID)",
        d.bundles.start_bundle_download_by_id,
        bundle_id,
        m.BundleUpdateSpec(bundle_download_spec=m.BundleDownloadSpec(download_now=True)),
    )
    d.poll(
        "GET /v1/tasks/{id} (getTask)",
        lambda: d.call("GET /v1/tasks/{id} (getTask)", d.tasks.get_task, task.id),
        lambda t: t.status.upper().replace(" ", "_") not in ("PENDING", "IN_PROGRESS"),
        "a finished download task",
    )
    done = d.poll(
        "GET /v1/bundles/{id} (getBundle)",
        lambda: d.call("GET /v1/bundles/{id} (getBundle)", d.bundles.get_bundle, bundle_id),
        lambda b: b.download_status in ("SUCCESSFUL", "FAILED"),
        "a finished download",
    )
    if done.download_status != "SUCCESSFUL":
        raise Failure(f"bundle {bundle_id}: download {done.download_status}")


def check_sets(d, domain, target):
    name = "POST /v1/system/check-sets/queries (queryCheckSets)"
    first = d.call(
        name,
        d.queries.query_check_sets,
        m.CheckSetQueryInput(
            check_set_type="UPGRADE",
            domains=[m.CheckSetQueryDomainResources(domain_id=domain.id)],
        ),
    )
    bom = {item.name: item.version for item in target.bom or []}
    component = {"SDDC_MANAGER": "SDDC_MANAGER_VCF", "NSX_T_MANAGER": "NSX_T_MANAGER", "VCENTER": "VCENTER", "CLUSTER": "ESX_HOST"}
    wanted = []
    for r in first.resources or []:
        version = bom.get(component.get(r.resource_type, r.resource_type))
        wanted.append(
            m.CheckSetQueryResource(
                resource_type=r.resource_type, resource_id=r.resource_id, resource_target_version=version
            )
        )
    second = d.call(
        name,
        d.queries.query_check_sets,
        m.CheckSetQueryInput(
            check_set_type="UPGRADE",
            domains=[m.CheckSetQueryDomainResources(domain_id=domain.id, resources=wanted)],
        ),
    )
    selection = [
        m.CheckSetResourceSelection(
            resource_name=r.resource_name,
            resource_id=r.resource_id,
            resource_type=r.resource_type,
            domain=m.DomainInfo(
                domain_id=r.domain.domain_id, domain_name=r.domain.domain_name, domain_type=r.domain.domain_type
            )
            if r.domain
            else None,
            check_sets=[m.SelectedCheckSetCandidate(check_set_id=c.check_set_id) for c in r.check_sets or []],
        )
        for r in second.resources or []
    ]
    run = d.call(
        "POST /v1/system/check-sets (triggerCheckRun)",
        d.check_sets.trigger_check_run,
        m.CheckSetRunInput(
            query_id=second.query_id,
            resources=selection,
            metadata=m.AssessmentMetadata(target_version=target.version),
        ),
    )
    result = d.poll(
        "GET /v1/system/check-sets/{runId} (getResult)",
        lambda: d.call("GET /v1/system/check-sets/{runId} (getResult)", d.check_sets.get_result, run.id),
        lambda r: r.status != "IN_PROGRESS",
        "a finished check run",
    )
    if result.presented_artifacts_map is None or result.validation_result is None:
        raise Failure(f"getResult: a finished run without artifacts or findings: {result}")
    d.call(
        "GET /v1/system/check-sets (getLastAssessmentRunInfo)",
        d.check_sets.get_last_assessment_run_info,
        domain_id=domain.id,
    )


def vcenter_input(d, bundle_id, temporary_network):
    """`vcenterUpgradeUserInputSpecs` for a vCenter major upgrade (its bundle goes from
    one major version to a higher one), with the `--temporary-network` given; None
    otherwise."""
    bundle = d.call("GET /v1/bundles/{id} (getBundle)", d.bundles.get_bundle, bundle_id)
    for c in bundle.components or []:
        if c.type != "VCENTER" or not c.from_version or not c.to_version:
            continue
        if int(c.to_version.split(".")[0]) <= int(c.from_version.split(".")[0]):
            return None
        if not temporary_network:
            raise Failure(f"vCenter {c.from_version} -> {c.to_version}: --temporary-network needed")
        ip, mask, gateway = temporary_network.split(",")
        net = m.TemporaryNetwork(network_mode="STATIC", ip_address=ip, subnet_mask=mask, gateway=gateway)
        return [m.VcenterUpgradeUserInputSpec(temporary_network=net)]
    return None


def upgrade_domain(d, domain, version, temporary_network=None):
    first = True
    for _ in range(50):
        ups = d.patiently(
            "GET /v1/upgradables/domains/{domainId} (getUpgradablesByDomain)",
            lambda: d.call(
                "GET /v1/upgradables/domains/{domainId} (getUpgradablesByDomain)",
                d.upgradables.get_upgradables_by_domain,
                domain.id,
                target_version=version,
            ),
        )
        available = [u for u in ups.elements or [] if u.status == "AVAILABLE"]
        if not available:
            return
        up = available[0]
        download(d, up.bundle_id)
        spec = m.UpgradeSpec(
            bundle_id=up.bundle_id,
            resource_type="DOMAIN",
            draft_mode=first,
            resource_upgrade_specs=[m.ResourceUpgradeSpec(resource_id=domain.id, upgrade_now=not first)],
            vcenter_upgrade_user_input_specs=vcenter_input(d, up.bundle_id, temporary_network),
        )
        task = d.call("POST /v1/upgrades (performUpgrade)", d.upgrades.perform_upgrade, spec)
        if first:
            # A draft: its prechecks first, then the commit.
            pre = d.call(
                "POST /v1/upgrades/{upgradeId}/prechecks (startUpgradePrecheck)",
                d.prechecks.start_upgrade_precheck,
                task.id,
            )
            d.poll(
                "GET /v1/upgrades/{upgradeId}/prechecks/{precheckId} (getUpgradePrecheckByID)",
                lambda: d.call(
                    "GET /v1/upgrades/{upgradeId}/prechecks/{precheckId} (getUpgradePrecheckByID)",
                    d.prechecks.get_upgrade_precheck_by_id,
                    task.id,
                    pre.id,
                ),
                lambda t: t.status.upper().replace(" ", "_") not in ("PENDING", "IN_PROGRESS"),
                "a finished precheck",
            )
            d.call(
                "PATCH /v1/upgrades/{upgradeId} (updateUpgradeSchedule)",
                d.upgrades.update_upgrade_schedule,
                task.id,
                m.UpgradeCommitSpec(upgrade_now=True),
            )
            first = False
        upgrade = d.poll(
            "GET /v1/upgrades/{upgradeId} (getUpgradeById)",
            lambda: d.call("GET /v1/upgrades/{upgradeId} (getUpgradeById)", d.upgrades.get_upgrade_by_id, task.id),
            lambda u: u.status in ("COMPLETED_WITH_SUCCESS", "COMPLETED_WITH_FAILURE", "FAILED"),
            "a finished upgrade",
        )
        d.patiently(
            "GET /v1/tasks/{id} (getTask)",
            lambda: d.call("GET /v1/tasks/{id} (getTask)", d.tasks.get_task, task.id),
        )
        if upgrade.status != "COMPLETED_WITH_SUCCESS":
            failed = d.call("GET /v1/tasks/{id} (getTask)", d.tasks.get_task, task.id)
            if not failed.is_retryable:
                raise Failure(f"upgrade {task.id} of bundle {up.bundle_id}: {upgrade.status}")
            d.call("PATCH /v1/tasks/{id} (retryTask)", d.tasks.retry_task, task.id)
            d.poll(
                "GET /v1/upgrades/{upgradeId} (getUpgradeById)",
                lambda: d.call("GET /v1/upgrades/{upgradeId} (getUpgradeById)", d.upgrades.get_upgrade_by_id, task.id),
                lambda u: u.status == "COMPLETED_WITH_SUCCESS",
                "a retried upgrade",
            )
    raise Failure("the upgrade did not end after 50 components")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--domain", default="sfo-m01", help="the domain to upgrade")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for each wait")
    parser.add_argument(
        "--temporary-network",
        help="IP,MASK,GATEWAY of a vCenter major upgrade's temporary network (VCF 9)",
    )
    args = parser.parse_args()
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    d = Driver(args.url, args.username, args.password, args.timeout)
    try:
        drive(d, args.domain, args.temporary_network)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        print(f"operations that worked: {len(d.called)}", file=sys.stderr)
        return 1
    print(f"OK: {len(d.called)} SDK operations against {args.url}, {args.domain} upgraded")
    for name in d.called:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
