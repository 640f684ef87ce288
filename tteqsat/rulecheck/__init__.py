"""Rule soundness by random testing: what a rule claims (claims), the shapes its pattern admits (shapes),
its terms in numpy (evaluate), and the sampling loop that looks for a counterexample (sampling)."""

from tteqsat.rulecheck.claims import describe
from tteqsat.rulecheck.sampling import RuleCheck, check_rule, check_ruleset

__all__ = ["RuleCheck", "check_rule", "check_ruleset", "describe"]
