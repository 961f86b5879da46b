"""civil-registry-bridge domain: plain Python, no I/O.

- `request.BirthRequest`: the aggregate and its state machine
- `ports.CivilRegistry`: the registry port, its value types and errors
- `details`: child and parent details, their parsing and plausibility rules
- `rules.BridgeRules`: configurable retry, stuck, plausibility and deadline rules
- `iin.check_iin_answer`: the IIN answer (validity, reason, hints)
- `circuit.CircuitBreaker`: a pure circuit-breaker state machine
- `events`: the events a request records (`pana_kit.domain.DomainEvent`s)
"""
