"""The CDK stacks of one stage and the stage that composes them."""
