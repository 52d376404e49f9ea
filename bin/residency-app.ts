#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ResidencyStack } from '../lib/residency-stack';

const app = new App();
new ResidencyStack(app, 'Residency', {
  description: 'Data-residency compliance checker: checks uploaded connection logs, keeps verdicts',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
