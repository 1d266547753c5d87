/* SPDX-License-Identifier: MIT */
/*
 * -R 5.7|modern for every tool (tool_rules.h): parsing with a one-line error, the environment
 * check that matches pinmm_boot()'s, and the header's name of the running rule set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tool_rules.h"

int tool_rules_option(const char *prog, const char *arg, enum pinmm_rules *rules)
{
	if (pinmm_rules_parse(arg, rules)) {
		fprintf(stderr, "%s: -R %s: not a rule set (5.7 or modern)\n", prog, arg);
		return -EINVAL;
	}
	return 0;
}

int tool_rules_env_check(enum pinmm_rules rules)
{
	const char *env = getenv("PINMM_RULES");
	enum pinmm_rules r;

	if (rules != PINMM_RULES_DEFAULT || !env || !*env)
		return 0;
	return pinmm_rules_parse(env, &r);
}

const char *tool_rules_name(void)
{
	const char *name = pinmm_rules_name(pinmm_rules());

	return name ? name : "?";
}
