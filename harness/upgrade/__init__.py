"""Running upgrade hops: the ansible playbook that performs them and the events it reports."""
