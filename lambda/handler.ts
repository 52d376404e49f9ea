/** S3/SQS entry point of the checker function. Work in progress: replaced by the real handler. */
export const handler = async (): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> => {
  throw new Error('handler not implemented yet');
};
