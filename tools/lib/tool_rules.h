/* SPDX-License-Identifier: MIT */
/*
 * The rule-set option every tool takes, -R 5.7|modern (docs/rule-sets.md), and the name the
 * tools print in their header line. Without -R a tool leaves the choice to pinmm_boot(), which
 * takes PINMM_RULES from the environment (5.7 when unset), so the header always names the rule
 * set the machine really runs.
 */
#ifndef PINMM_TOOLS_TOOL_RULES_H
#define PINMM_TOOLS_TOOL_RULES_H

#include <pinmm/pinmm.h>

/* Parse -R's argument into *rules. A bad value prints one line on stderr,
 * "<prog>: -R <arg>: not a rule set (5.7 or modern)", and returns -EINVAL (*rules unchanged);
 * the tool then exits with its status for a bad option. */
int tool_rules_option(const char *prog, const char *arg, enum pinmm_rules *rules);

/* The check pinmm_boot() makes of PINMM_RULES, made before anything is set up so that a tool
 * can report a bad value in one line: 0, or -EINVAL when rules is PINMM_RULES_DEFAULT and
 * PINMM_RULES is set to something other than "5.7" or "modern". */
int tool_rules_env_check(enum pinmm_rules rules);

/* "5.7" or "modern": the booted machine's rule set, for the header line. */
const char *tool_rules_name(void);

#endif /* PINMM_TOOLS_TOOL_RULES_H */
