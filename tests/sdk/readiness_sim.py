#!/usr/bin/env python3
"""Reads a running vcf-sim's upgrade-readiness answers with the vendor's official Python SDK.

Every readiness operation the product uses goes through the SDK's own stubs, request models and
response deserialisation: credentials, a password expiration check and its result, each domain's
resource certificates, the backup configuration, Back Up Now, the backup task, the depot
settings (and on VCF 9 the depot sync information, the notifications and each cluster's image
compliance). Exit status 1 names the operation the SDK could not complete.

    python tests/sdk/readiness_sim.py --url http://127.0.0.1:8443 \\
        --username admin@local --password 'VMware123!VMware123!'
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from drive_sim import Driver, Failure  # noqa: E402
from vmware.sddc_manager import model_client as m  # noqa: E402
from vmware.sddc_manager import v1_client as v1  # noqa: E402
from vmware.sddc_manager.v1 import backups_client, clusters_client, credentials_client  # noqa: E402
from vmware.sddc_manager.v1 import domains_client  # noqa: E402
from vmware.sddc_manager.v1 import system_client  # noqa: E402
from vmware.sddc_manager.v1.system import settings_client  # noqa: E402
from vmware.sddc_manager.v1.system.settings import depot_client  # noqa: E402


def read_all(d, vcf9):
    c = d.config
    creds = d.call("GET /v1/credentials (getCredentials)", v1.Credentials(c).get_credentials, page_size="0")
    if not creds.elements:
        raise Failure("GET /v1/credentials: no credentials")
    types = sorted({e.resource.resource_type for e in creds.elements})
    exp = credentials_client.Expirations(c)
    for t in types:
        check = d.call(
            "POST /v1/credentials/expirations (getPasswordExpiration)",
            exp.get_password_expiration,
            m.CredentialsExpirationSpec(resource_type=t),
        )
        d.call(
            "GET /v1/credentials/expirations/{id} (getPasswordExpirationByTaskID)",
            exp.get_password_expiration_by_task_id,
            check.id,
        )
    certs = domains_client.ResourceCertificates(c)
    for dom in d.call("GET /v1/domains (getDomains)", d.domains.get_domains).elements:
        page = d.call(
            "GET /v1/domains/{id}/resource-certificates (getResourceCertificatesByDomain)",
            certs.get_certificates_by_domain,
            dom.id,
        )
        if not page.elements:
            raise Failure(f"no certificates for {dom.name}")
    d.call(
        "GET /v1/system/backup-configuration (getBackupConfiguration)",
        system_client.BackupConfiguration(c).get_backup_configuration,
    )
    task = d.call(
        "POST /v1/backups/tasks (startBackup)",
        backups_client.Tasks(c).start_backup,
        m.BackupSpec(elements=[m.BackupResource(resource_type="SDDC_MANAGER")]),
    )
    d.call("GET /v1/tasks/{id} (getTask)", d.tasks.get_task, task.id)
    d.call("GET /v1/system/settings/depot (getDepotSettings)", settings_client.Depot(c).get_depot_settings)
    if vcf9:
        d.call(
            "GET /v1/system/settings/depot/depot-sync-info (getDepotSyncInfo)",
            depot_client.DepotSyncInfo(c).get_depot_sync_info,
        )
        notes = d.call("GET /v1/notifications (getNotifications)", v1.Notifications(c).get_notifications)
        if not notes or not all(n.severity and n.message for n in notes):
            raise Failure("GET /v1/notifications: no notification with a severity and a message")
        compliance = clusters_client.ImageCompliance(c)
        for cluster in d.call("GET /v1/clusters (getClusters)", v1.Clusters(c).get_clusters).elements:
            result = d.call(
                "GET /v1/clusters/{id}/image-compliance (getClusterImageCompliance)",
                compliance.get_cluster_image_compliance,
                cluster.id,
            )
            if not result.status or result.image_compliance_details is None:
                raise Failure(f"image compliance of {cluster.name}: no status or details")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--vcf9",
        action="store_true",
        help="also read the 9.x depot sync information, notifications and image compliance",
    )
    args = parser.parse_args()
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    d = Driver(args.url, args.username, args.password, 60.0)
    try:
        d.login()
        read_all(d, args.vcf9)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"OK: {len(d.called)} readiness SDK operations against {args.url}")
    for name in d.called:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
