// Creates the service's table from infra/table.json, the same definition serverless.yml uses.
import {
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import table from "./table.json" with { type: "json" };

export async function createTable(tableName: string): Promise<void> {
  const client = new DynamoDBClient({});
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: table.AttributeDefinitions as CreateTableCommand["input"]["AttributeDefinitions"],
        KeySchema: table.KeySchema as CreateTableCommand["input"]["KeySchema"],
        GlobalSecondaryIndexes: table.GlobalSecondaryIndexes as CreateTableCommand["input"]["GlobalSecondaryIndexes"],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: table.TimeToLiveSpecification }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  } finally {
    client.destroy();
  }
}
