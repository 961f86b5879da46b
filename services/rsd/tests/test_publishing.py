"""publishing.publish is the kit's publisher: recorded domain events -> (contract event, subject)."""

from pana_kit.domain import DomainEvent
from rsd_flows import registered

from rsd.publishing import publish


def test_registration_publishes_lodged_and_the_certificate_with_the_applicant_as_subject():
    app = registered()
    recorded = app.collect_events()
    assert recorded and all(isinstance(e, DomainEvent) for e in recorded)
    published = list(publish(app, recorded))
    assert [e.event_type for e, _ in published] == ["rsd.application.lodged.v1", "rsd.certificate.requested.v1"]
    assert {subject for _, subject in published} == {app.person_id}
