"""The read room: what a reviewer asks of a recorded session, answered from its records
(``views``: the files the agent touched, the commands it ran, the places it reached, its
subagents and the prompts). The session file is parsed by ``nova_session.reading``."""
